"""Run nerve's benchmarks beside PyTorch and print a table of ratios.

    python -m benchmarks.run                 # everything
    python -m benchmarks.run --only W1,W5    # some workloads (by id prefix)
    python -m benchmarks.run --quick         # fewer, shorter blocks
"""

from __future__ import annotations

import argparse
import importlib
import pathlib
import sys


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated workload ids (prefix match)")
    parser.add_argument("--quick", action="store_true", help="3 blocks of 0.15 s instead of 7 of 0.3 s")
    args = parser.parse_args(argv)

    from benchmarks.harness import format_table, measure

    only = [s.strip() for s in args.only.split(",") if s.strip()]
    rows = []
    here = pathlib.Path(__file__).parent
    for path in sorted(here.glob("bench_*.py")):
        module = importlib.import_module(f"benchmarks.{path.stem}")
        for w in module.workloads():
            if only and not any(w.id.startswith(o) for o in only):
                continue
            row = measure(w, blocks=3 if args.quick else 7, block_s=0.15 if args.quick else 0.3)
            rows.append(row)
            print(f"  {row['id']:<6} {row['name']:<44} ratio {row['ratio']:.2f}x", file=sys.stderr, flush=True)
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
