"""Address headers to Address(name, email): names decoded, broken lists repaired, and the
sender found even when From is missing or holds no address."""
import inspect
import re
from email.utils import getaddresses

from services.ingest.mail import Address
from services.ingest.parsing import headers

COMMENT = re.compile(r"\s*\([^()]*\)\s*")
# Newer Pythons reject odd lists outright (strict=True): a mail client's odd list is what we
# are here to read, so ask for the old, lenient reading where it exists.
LENIENT = {"strict": False} if "strict" in inspect.signature(getaddresses).parameters else {}
# Where the sender may be found, best first: the replies go to the person behind it.
SENDER_HEADERS = ("From", "Reply-To", "Sender", "Return-Path")


def addresses(values, name, notes, defects, hints=(), local=False):
    """Every address in these header values. Encoded-words are set aside while the list is
    split, as they may hold commas ("=?utf-8?Q?Smith,_Anna?= <anna@mail.example>")."""
    words = []

    def set_aside(match):
        words.append(match.group(0))
        return f"\x00{len(words) - 1}\x00"

    def restored(text):
        return re.sub("\x00(\\d+)\x00", lambda m: words[int(m.group(1))], text)

    values = [headers.ENCODED_WORD.sub(set_aside, headers.FOLDING.sub("", str(v)))
              [:headers.MAX_VALUE] for v in values if v]
    found, stray, dropped = [], [], []
    for raw_display, email in getaddresses(values, **LENIENT):
        display = headers.decode(restored(raw_display), name, notes, hints).strip('" ')
        email = headers.decode(restored(email), name, notes, hints).strip("<> ")
        raw_display = restored(raw_display)
        address = _repaired(display, email, f'"{raw_display}' in "".join(values))
        if "@" in address.email or (local and address.email):
            if stray:
                defects.append(f"{name}: an unquoted comma split a name: joined again")
            found.append(_named(address, stray))
            stray = []
        elif address.email and not address.name:
            stray.append(address.email)
        elif address.name:
            dropped.append(address.name)
    if stray or dropped:  # "To: undisclosed recipients", "To: xxx": nothing to route or answer
        defects.append(f"{name}: {', '.join(dropped + stray)[:200]!r} is not an address: "
                       "left out")
    return found


def _repaired(display, email, quoted):
    words = email.split()
    if not display and len(words) > 1 and "@" in words[-1] and '"' not in email:
        display, email = " ".join(words[:-1]), words[-1]  # "Anna anna@mail.example": no <>
    if "@" not in email and "@" in display and " " not in display:
        display, email = email, display  # "Name (anna@mail.example)": the comment form
    if "(" in display and not quoted:  # 'MAILER-DAEMON (Mail Delivery System)': a comment
        display = COMMENT.sub(" ", display).strip() or display.strip("()")
    return Address(display, email)


def _named(address, stray):
    """An address after pieces that had no "@": an unquoted comma in the name
    ('Smith, Anna <anna@mail.example>') split it. The pieces are the rest of the name."""
    if stray and not address.name:
        return Address(", ".join(stray), address.email)
    if stray:
        return Address(", ".join(stray + [address.name]), address.email)
    return address


def sender(message, notes, defects, hints=()):
    """The first From address with an "@"; failing that, Reply-To, Sender, Return-Path; and
    failing all, a From without "@" ("MAILER-DAEMON"): something to show the agent."""
    for header in SENDER_HEADERS:
        for value in headers.raw_all(message, header):
            found = addresses([value], header, notes, [], hints)
            if found:
                if header != "From":
                    defects.append(f"From holds no address: the sender is taken from {header}")
                return found[0]
    local = addresses(headers.raw_all(message, "From"), "From", notes, [], hints, local=True)
    return local[0] if local else None
