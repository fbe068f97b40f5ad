"""``nerve history``: a guided tour of the milestones, from McCulloch-Pitts to backprop and beyond.

nerve history                   # every milestone, in order (under a minute)
nerve history --list            # the milestones, one line each
nerve history perceptron xor    # only these
nerve history --plots figs/     # also write a PNG per milestone (needs nerve[train])
"""

from __future__ import annotations

import sys


def add_arguments(parser) -> None:
    parser.add_argument(
        "milestones", nargs="*", metavar="MILESTONE", help="run only these (see --list)"
    )
    parser.add_argument("--list", action="store_true", help="list the milestones and exit")
    parser.add_argument("--plots", metavar="DIR", help="write a picture per milestone into DIR")


def run(args) -> int:
    from nerve.classic.tour import MILESTONES, find, run_tour

    if args.list:
        for milestone in MILESTONES:
            print(f"{milestone.name:16} {milestone.year:18} {milestone.title}")
        return 0
    try:
        for name in args.milestones:
            find(name)
        run_tour(args.milestones or None, plots=args.plots)
    except (ValueError, ImportError) as error:
        print(f"nerve history: {error}", file=sys.stderr)
        return 2
    return 0
