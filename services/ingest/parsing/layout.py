"""Where a part's body lies in the raw mail, for the parts that must be kept exactly as they
were written: a forwarded mail (.eml) and a bounce's delivery status. compat32 parses those
into objects, and writing them back out refolds headers and changes bytes.

A part is reached by its route from the top: ("part", boundary, index, count) steps into a
child of a multipart that has `count` children, ("message",) into the mail inside a
message/rfc822 part.
"""
import re

HEADER_END = re.compile(rb"\n\n")


class Layout:
    def __init__(self, raw):
        self.raw = raw
        self._children = {}  # route -> the bodies of the children: each multipart split once

    def body(self, route):
        """The body bytes at the end of `route`, or None when the raw bytes do not show the
        structure the parser saw (then the caller writes the part out instead)."""
        region = _after_headers(self.raw)
        for depth, step in enumerate(route):
            if region is None:
                return None
            if step[0] == "message":
                region = _after_headers(region)
                continue
            _, boundary, index, count = step
            children = self._split(tuple(route[:depth]), region, boundary)
            if len(children) != count:
                return None
            region = _after_headers(children[index])
        return region

    def _split(self, key, region, boundary):
        key = (key, boundary)
        if key not in self._children:
            self._children[key] = _children(region, boundary)
        return self._children[key]


def _after_headers(part):
    if part.startswith(b"\n"):  # no headers at all
        return part[1:]
    match = HEADER_END.search(part)
    return part[match.end():] if match else b""


def _children(region, boundary):
    """The parts between the delimiter lines; the line break before a delimiter is part of
    the delimiter (RFC 2046), so it is not part of the body before it."""
    delimiter = re.compile(rb"^--" + re.escape(boundary.encode("ascii", "surrogateescape")) +
                           rb"(--)?[ \t]*$", re.M)
    children, start = [], None
    for match in delimiter.finditer(region):
        if start is not None:
            end = match.start() - 1 if match.start() > start else match.start()
            children.append(region[start:end])
        if match.group(1):
            return children
        start = match.end() + 1
    if start is not None and start <= len(region):
        children.append(region[start:])  # no closing delimiter: the part runs to the end
    return children
