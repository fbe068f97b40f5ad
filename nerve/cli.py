"""The ``nerve`` command: one entry point, one module per subcommand.

Each subcommand lives in ``nerve/commands/<name>.py`` and defines two functions:

    def add_arguments(parser: argparse.ArgumentParser) -> None: ...
    def run(args: argparse.Namespace) -> int: ...

The module is imported only when its subcommand runs, so ``nerve --help`` stays fast and a
missing optional extra only affects the subcommand that needs it.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# (name, one-line help). The order is the order ``nerve --help`` lists them.
COMMANDS: list[tuple[str, str]] = [
    ("demo", "train a LeNet-5-style CNN on the 8x8 digits and write a report (the main job)"),
    ("train", "train a model from the zoo (or a Python file) on a dataset"),
    ("eval", "evaluate a trained run directory on its test data"),
    ("predict", "predict with a trained run directory on an input file"),
    ("summary", "print a model's layers, output shapes and parameter counts"),
    ("history", "a guided tour of the milestones: McCulloch-Pitts to backprop"),
    ("playground", "watch a network think and learn in the browser"),
    ("embed", "sentence embeddings with the pretrained all-MiniLM-L6-v2"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nerve",
        description="nerve: neural networks from first principles on NumPy.",
    )
    from nerve import __version__

    parser.add_argument("--version", action="version", version=f"nerve {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(_command=name)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    # Parse only the command name first, then let the command's module add its own arguments.
    if argv and argv[0] == "--version":
        from nerve import __version__

        print(f"nerve {__version__}")
        return 0
    if not argv or argv[0] in ("-h", "--help"):
        parser.print_help()
        return 0
    name = argv[0]
    names = [n for n, _ in COMMANDS]
    if name not in names:
        import difflib

        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean '{close[0]}'?" if close else ""
        print(f"nerve: unknown command '{name}'.{hint} Commands: {', '.join(names)}", file=sys.stderr)
        return 2
    module = importlib.import_module(f"nerve.commands.{name}")
    sub = argparse.ArgumentParser(prog=f"nerve {name}", description=dict(COMMANDS)[name])
    module.add_arguments(sub)
    args = sub.parse_args(argv[1:])
    try:
        return int(module.run(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
