"""Mail parsing speed on the shared corpora: prints figures.

    .venv/bin/python bench/parse_policy.py [--rounds 5] [--corpora ../shared/corpora]

1. `email.policy.default` against `compat32` plus our explicit header decoding, both reading
   the same fields (subject, addresses, ids, date, every header, the parts' content types).
2. The whole `parse()` (bodies, HTML, charsets, attachments) over the Zammad corpus.
One process, one core.
"""
import argparse
import email
import os
import time
from email import policy
from pathlib import Path

from services.ingest.parsing import addresses, headers, parse

FIELDS = ("Subject", "Message-ID", "In-Reply-To", "References", "Date")
ADDRESS_FIELDS = ("From", "To", "Cc", "Reply-To")


def mails(root):
    patterns = ("zammad/mail*/*.box", "stalwart/eml/*/*.eml", "mime4j/**/*.msg",
                "cpython/data/msg_*.txt")
    return [path.read_bytes() for pattern in patterns for path in sorted(root.glob(pattern))]


def with_policy_default(raw):
    message = email.message_from_bytes(raw, policy=policy.default)
    values = [str(message[name]) for name in FIELDS if message[name] is not None]
    for name in ADDRESS_FIELDS:
        header = message[name]
        values += [(a.display_name, a.addr_spec) for a in getattr(header, "addresses", ())]
    values += [str(value) for value in message.values()]
    return values, [part.get_content_type() for part in message.walk()]


def with_compat32(raw):
    message = email.message_from_bytes(raw, policy=policy.compat32)
    notes, defects = [], []
    values = [headers.decode(headers.raw(message, name), name, notes) for name in FIELDS]
    for name in ADDRESS_FIELDS:
        values += addresses.addresses(headers.raw_all(message, name), name, notes, defects)
    values += [headers.decode(value, name, notes) for name, value in message.raw_items()]
    return values, [part.get_content_type() for part in message.walk()]


def rate(function, corpus, rounds):
    """Mails per second; a mail that makes `function` raise still counts (it was read)."""
    started = time.perf_counter()
    for _ in range(rounds):
        for raw in corpus:
            try:
                function(raw)
            except Exception:
                pass
    return len(corpus) * rounds / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--corpora", default=os.environ.get("HELPDESK_CORPORA") or
                        str(Path(__file__).resolve().parents[2] / "shared" / "corpora"))
    args = parser.parse_args()
    root = Path(args.corpora)
    corpus = mails(root)
    size = sum(map(len, corpus)) / 1024 / 1024
    print(f"{len(corpus)} mails ({size:.1f} MB) from {root}, {args.rounds} rounds, one core")
    default = rate(with_policy_default, corpus, args.rounds)
    compat = rate(with_compat32, corpus, args.rounds)
    print(f"  policy.default (header registry)     {default:8.0f} mails/s")
    print(f"  compat32 + explicit decoding         {compat:8.0f} mails/s")
    print(f"  compat32 is {compat / default:.1f}x faster")
    zammad = [path.read_bytes() for path in sorted(root.glob("zammad/mail*/*.box"))]
    full = rate(parse, zammad, args.rounds)
    size = sum(map(len, zammad)) / 1024 / 1024
    print(f"parse() over the Zammad corpus ({len(zammad)} mails, {size:.1f} MB): "
          f"{full:.0f} mails/s, {full * size / len(zammad):.1f} MB/s")


if __name__ == "__main__":
    main()
