"""ISO-2022-JP as Japanese mail software really writes it: with the NEC and IBM extensions of
Windows (circled digits, roman numerals...), which Python's strict iso2022_jp codec rejects.
The JIS pairs are moved to Shift_JIS and decoded as cp932, which has the extensions.

Registered as the codec "iso2022_jp_ms" (decode only; mail is read, never written, here).
"""
import codecs

NAME = "iso2022_jp_ms"
ESCAPES = {b"\x1b(B": "ascii", b"\x1b(J": "ascii", b"\x1b$@": "jis", b"\x1b$B": "jis",
           b"\x1b(I": "kana", b"\x1b$(D": "jis", b"\x1b$(Q": "jis", b"\x1b$(O": "jis"}


def to_shift_jis(data):
    out, mode, index = bytearray(), "ascii", 0
    while index < len(data):
        if data[index] == 0x1B:
            escape = next((e for e in ESCAPES if data.startswith(e, index)), None)
            if escape:
                mode, index = ESCAPES[escape], index + len(escape)
                continue
        byte = data[index]
        if mode == "jis" and 0x21 <= byte <= 0x7E and index + 1 < len(data):
            out += _pair(byte, data[index + 1])
            index += 2
            continue
        out.append(byte + 0x80 if mode == "kana" and 0x21 <= byte <= 0x5F else byte)
        index += 1
    return bytes(out)


def _pair(first, second):
    lead = ((first - 0x21) >> 1) + 0x81
    lead += 0x40 if lead > 0x9F else 0
    if first & 1:
        trail = second + 0x1F + (1 if second >= 0x60 else 0)
    else:
        trail = second + 0x7E
    return bytes((lead, trail))


def _decode(data, errors="strict"):
    data = bytes(data)
    return to_shift_jis(data).decode("cp932", errors), len(data)


def _search(name):
    if name.replace("-", "_") != NAME:
        return None
    return codecs.CodecInfo(name=NAME, encode=codecs.lookup("iso2022_jp").encode,
                            decode=_decode)


codecs.register(_search)
