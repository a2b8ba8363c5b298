"""`python -m bench [part …]`: run the bench parts, one process each, then a summary.

Parts: signup, dashboard, reminders, import, inprocess (all of them, in that order, by
default).
Every figure is one JSON line on stdout; progress goes to stderr; the summary comes last.
Environment: DATABASE_URL, REDIS_URL (loopback only; CI's services by default),
BENCH_SECONDS (10), BENCH_FULL=1 (100,000 reminders), more in docs/performance.md.
"""

import contextlib
import importlib
import json
import os
import subprocess
import sys
import time

from bench import common

PARTS = {
    "signup": "bench.signup",
    "dashboard": "bench.dashboard",
    "reminders": "bench.reminders",
    "import": "bench.geo_import",
    "inprocess": "bench.inprocess",
}


def run_part(name: str) -> tuple[list[dict], int, float]:
    """Run one part in a process of its own; echo and collect its JSON lines."""
    module = PARTS[name]
    common.log(f"--- {name} ---")
    started = time.monotonic()
    figures = []
    process = subprocess.Popen(
        [sys.executable, "-m", module],
        cwd=common.BASE_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    for line in process.stdout:
        print(line, end="", flush=True)
        with contextlib.suppress(ValueError):
            figures.append(json.loads(line))
    returncode = process.wait()
    return figures, returncode, time.monotonic() - started


def main(argv: list[str]) -> int:
    names = argv or list(PARTS)
    unknown = [name for name in names if name not in PARTS]
    if unknown:
        print(f"unknown part(s): {', '.join(unknown)}; choose from {', '.join(PARTS)}")
        return 2
    for key, value in common.DEFAULTS.items():
        os.environ.setdefault(key, value)
    results = {}
    for name in names:
        figures, returncode, seconds = run_part(name)
        if returncode:
            common.emit(name, "failed", returncode=returncode)
        results[name] = (figures, returncode, seconds)
    print("\nSummary")
    failed = False
    for name, (figures, returncode, seconds) in results.items():
        lines = importlib.import_module(PARTS[name]).summarise(figures)
        print(f"  {name} ({seconds:.0f} s){' FAILED' if returncode else ''}")
        for line in lines:
            print(f"    {line}")
        failed = failed or bool(returncode)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
