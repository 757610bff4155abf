"""Coverage-guided fuzzing of the mail parser with atheris (libFuzzer), seeded with every mail
of the shared corpora: any exception other than UnparseableMail is a crash, any mail that
takes longer than --seconds-per-mail a hang (libFuzzer's -timeout). Prints libFuzzer's
figures and appends runs, coverage, crashes and hangs to bench/RESULTS.md.

    .venv/bin/pip install -e '.[bench]'       # atheris
    .venv/bin/python bench/fuzz_parser.py --minutes 10

Crashing and hanging inputs are kept in bench/fuzz-findings/ (reproduce one with
`helpdesk parse-mail FILE`).
"""
import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SEEDS = ("zammad/mail", "zammad/mail_newer", "stalwart/eml", "mime4j", "cpython/data")
SUFFIXES = (".box", ".eml", ".msg", ".txt")
MAX_LEN = 300_000


def seed_directory(corpora, into):
    count = 0
    for folder in SEEDS:
        for path in sorted((corpora / folder).rglob("*")):
            if path.suffix in SUFFIXES and path.is_file() and path.stat().st_size < MAX_LEN:
                (into / f"{count:05}{path.suffix}").write_bytes(path.read_bytes())
                count += 1
    return count


def child(arguments):
    """The fuzzing process itself: libFuzzer owns it until the time is up or it crashes."""
    import atheris

    with atheris.instrument_imports():
        from services.ingest.parsing import UnparseableMail, parse

    def one_input(data):
        try:
            parse(data)
        except UnparseableMail:
            pass  # the quarantine's own answer

    atheris.Setup([sys.argv[0], *arguments], one_input)
    atheris.Fuzz()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--seconds-per-mail", type=int, default=3)
    parser.add_argument("--corpora", default=str(ROOT.parent / "shared" / "corpora"))
    args = parser.parse_args()
    findings = ROOT / "bench" / "fuzz-findings"
    findings.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        corpus = Path(work)
        seeds = seed_directory(Path(args.corpora), corpus)
        libfuzzer = [str(corpus), f"-max_total_time={int(args.minutes * 60)}",
                     f"-timeout={args.seconds_per_mail}", f"-max_len={MAX_LEN}",
                     "-rss_limit_mb=2048", f"-artifact_prefix={findings}/",
                     "-print_final_stats=1"]
        print(f"fuzzing the parser for {args.minutes:g} min from {seeds} seed mails …")
        run = subprocess.run([sys.executable, __file__, "--child", *libfuzzer],
                             capture_output=True, text=True, env={**os.environ,
                                                                  "PYTHONHASHSEED": "0"})
    output = run.stdout + run.stderr
    runs = re.findall(r"stat::number_of_executed_units:\s*(\d+)", output)
    coverage = re.findall(r"cov: (\d+)", output)
    hung = "libFuzzer: timeout" in output
    crashed = not hung and (run.returncode != 0 or "Uncaught Python exception" in output
                            or "ERROR: libFuzzer" in output)
    line = (f"parser fuzzed {args.minutes:g} min from {seeds} seeds: "
            f"{int(runs[-1]) if runs else 0:,} mails, coverage {coverage[-1] if coverage else '?'}"
            f" edges, {'a CRASH' if crashed else 'no crash'}, {'a HANG' if hung else 'no hang'}"
            f" (exit {run.returncode})")
    print(output[-3000:])
    print(line)
    with (ROOT / "bench" / "RESULTS.md").open("a") as results:
        results.write(f"\n## Parser fuzzing — {datetime.now():%Y-%m-%d} on {platform.node()} "
                      f"({len(os.sched_getaffinity(0))} cores)\n\n- {line}\n")
    return 1 if crashed or hung else 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2:])
    else:
        sys.exit(main())
