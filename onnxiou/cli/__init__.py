"""The ``onnxiou`` command line.

Each subcommand is a module of this package that defines
``add_parser(subparsers)``, which adds a parser named after its key in
``SUBCOMMANDS``, and ``run(args) -> int``, which returns the exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from onnxiou._version import __version__

PROG = "onnxiou"

# Exit code of an invalid argument or input file, as argparse uses for syntax.
EXIT_INVALID = 2

# Subcommand name -> module. One line here registers a subcommand.
SUBCOMMANDS = {
    "evaluate": "onnxiou.cli.evaluate",
    "export": "onnxiou.cli.export",
    "info": "onnxiou.cli.info",
}


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per ``SUBCOMMANDS`` entry."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export the Keras IoU metrics as ONNX graphs and inspect them.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module_name in SUBCOMMANDS.items():
        importlib.import_module(module_name).add_parser(subparsers)
        if name not in subparsers.choices:
            raise RuntimeError(
                f"{module_name}.add_parser did not add a subcommand named {name!r}."
            )
    return parser


def print_error(message: str) -> int:
    """Print ``onnxiou: error: message`` as one line on stderr, return 2."""
    one_line = " ".join(str(message).split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return EXIT_INVALID


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (``sys.argv[1:]`` when None)."""
    args = build_parser().parse_args(argv)
    module = importlib.import_module(SUBCOMMANDS[args.command])
    try:
        return module.run(args)
    except (TypeError, ValueError) as error:
        # The library raises these for invalid arguments, with messages that
        # name the argument, so the message is the whole report.
        return print_error(str(error))
    except OSError as error:
        reason = error.strerror or str(error)
        print_error(f"{error.filename}: {reason}" if error.filename else reason)
        return 1
