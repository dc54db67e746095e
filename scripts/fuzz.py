"""The long profile of the fuzz harness (tests/fuzz): many inputs per entry, figures printed.

    PYTHONPATH=. python scripts/fuzz.py                    # 300 inputs per entry
    PYTHONPATH=. python scripts/fuzz.py --examples 2000 --only "cli sweep"

Prints one line per entry (inputs tried, failures), then the totals and every failure with the
input that caused it. Exit status 1 if a "checked" entry failed (every entry is).
The CI profile is ``pytest tests/fuzz`` (the same entries, a few dozen inputs each).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fuzz import entries as fuzz_entries  # noqa: E402
from tests.fuzz import harness  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=300, help="inputs per entry")
    parser.add_argument("--only", action="append", help="entry name (repeatable)")
    parser.add_argument("--show", type=int, default=5, help="failures shown per entry")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as root:
        import os

        os.chdir(root)  # default output folders of the commands land here
        built = fuzz_entries.build(harness.Paths(Path(root)))
        tally = harness.Tally()
        start = time.perf_counter()
        for name, (scope, _) in built.items():
            if args.only and name not in args.only:
                continue
            t0 = time.perf_counter()
            harness.run_entries(built, args.examples, tally, fuzz_entries.CLI_ENTRIES,
                                only={name})
            print(f"{name:<40} {scope:<8} {tally.tried.get(name, 0):>6} inputs "
                  f"{len(tally.failures.get(name, [])):>5} failures "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"{tally.summary()} in {time.perf_counter() - start:.0f} s")
    checked_failed = False
    for name, failures in tally.failures.items():
        scope = built[name][0]
        checked_failed |= scope == "checked"
        print(f"\n{name} ({scope}): {len(failures)} failures")
        for failure in failures[:args.show]:
            print(f"  {failure[:400]}")
    return 1 if checked_failed else 0


if __name__ == "__main__":
    sys.exit(main())
