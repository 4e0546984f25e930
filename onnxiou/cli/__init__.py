"""The ``onnxiou`` command line.

Each subcommand is a module of this package that defines
``add_parser(subparsers)``, which adds a parser named after its key in
``SUBCOMMANDS``, and ``run(args) -> int``, which returns the exit code. A
module may also define ``ARGUMENT_FLAGS``, which maps library argument names
to its flags so that library errors name the flags.

Only the module of the subcommand being run is imported, because some of
them import onnx or onnxscript, which take seconds to import.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import math
import os
import re
import signal
import sys
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from onnxiou._version import __version__

PROG = "onnxiou"

# Exit code of an invalid argument or input file, as argparse uses for syntax.
EXIT_INVALID = 2

# Exit code after the reader of stdout closed the pipe, as a process killed
# by SIGPIPE reports it in a shell. Windows has no SIGPIPE, so the number 13
# is spelled out.
EXIT_BROKEN_PIPE = 128 + getattr(signal, "SIGPIPE", 13)

_GIB = 1024**3


@dataclasses.dataclass(frozen=True)
class Subcommand:
    """The module and the one-line help of a subcommand."""

    module: str
    summary: str


# Subcommand name -> its module. One entry here registers a subcommand.
SUBCOMMANDS = {
    "evaluate": Subcommand(
        "onnxiou.cli.evaluate",
        "score a folder of predicted masks against ground-truth label maps",
    ),
    "export": Subcommand(
        "onnxiou.cli.export",
        "write update.onnx, result.onnx and step.onnx of one metric",
    ),
    "info": Subcommand(
        "onnxiou.cli.info",
        "print the contract of an .onnx file written by onnxiou",
    ),
}


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with one subparser per ``SUBCOMMANDS`` entry.

    Only the subcommands in ``commands`` (all when None) get their full
    parser, which imports their module. The others get a parser with their
    help line only, which is enough for ``onnxiou --help`` and for argparse
    to accept their name.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export the Keras IoU metrics as ONNX graphs and inspect them.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {__version__}"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, subcommand in SUBCOMMANDS.items():
        if commands is not None and name not in commands:
            subparsers.add_parser(name, help=subcommand.summary)
            continue
        importlib.import_module(subcommand.module).add_parser(subparsers)
        if name not in subparsers.choices:
            raise RuntimeError(
                f"{subcommand.module}.add_parser did not add a subcommand named "
                f"{name!r}."
            )
    return parser


def print_error(message: str) -> int:
    """Print ``onnxiou: error: message`` as one line on stderr, return 2."""
    one_line = " ".join(str(message).split())
    print(f"{PROG}: error: {one_line}", file=sys.stderr)
    return EXIT_INVALID


def name_flags(message: str, flags: Mapping[str, str]) -> str:
    """Replace "argument `name`" and "`name`" in ``message`` by the flag of ``name``.

    Library errors name Python arguments, but on the command line the user
    typed flags. Names without an entry in ``flags`` stay as they are.
    """

    def flag(match: re.Match[str]) -> str:
        return flags.get(match.group(1), match.group(0))

    return re.sub(r"(?:argument )?`(\w+)`", flag, message)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line on ``argv`` (``sys.argv[1:]`` when None)."""
    if argv is None:
        argv = sys.argv[1:]
    command = _command_name(argv)
    args = build_parser([command] if command else []).parse_args(argv)
    module = importlib.import_module(SUBCOMMANDS[args.command].module)
    try:
        code = module.run(args)
        # Flushed here so that a closed pipe raises inside the try block
        # rather than at interpreter exit.
        sys.stdout.flush()
        return code
    except BrokenPipeError:
        _discard_stdout()
        return EXIT_BROKEN_PIPE
    except (TypeError, ValueError) as error:
        # The library raises these for invalid arguments, with messages that
        # name the argument, so the message is the whole report.
        flags = getattr(module, "ARGUMENT_FLAGS", {})
        return print_error(name_flags(str(error), flags))
    except MemoryError as error:
        return print_error(memory_message(args, error))
    except OSError as error:
        reason = error.strerror or str(error)
        print_error(f"{error.filename}: {reason}" if error.filename else reason)
        return 1


def _command_name(argv: Sequence[str]) -> str | None:
    """Return the subcommand in ``argv``: its first word that is not an option.

    The top-level parser has no option that takes a value, so the first
    such word is the subcommand. Returns None when there is none or it is
    not a known subcommand, and argparse then reports the error.
    """
    for word in argv:
        if not word.startswith("-"):
            return word if word in SUBCOMMANDS else None
    return None


def _discard_stdout() -> None:
    """Point stdout's file descriptor at the null device.

    The flush at interpreter exit then writes there instead of into the
    closed pipe, which would print another BrokenPipeError.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        # stdout has no file descriptor (it is replaced, as under pytest's
        # capture), so there is no pipe left to flush into.
        pass
    finally:
        os.close(devnull)


def memory_message(args: argparse.Namespace, error: MemoryError) -> str:
    """Describe a failed allocation, with the size of the confusion matrix.

    numpy's MemoryError carries the ``shape`` and ``dtype`` of the failed
    array; other allocators raise it without them.
    """
    shape = getattr(error, "shape", None)
    dtype = getattr(error, "dtype", None)
    num_classes = getattr(args, "num_classes", None)
    if isinstance(num_classes, int):
        state_dtype = getattr(args, "state_dtype", None) or "float64"
        matrix_bytes = num_classes**2 * _itemsize(state_dtype)
        same_shape = shape is not None and tuple(shape) == (num_classes,) * 2
        if same_shape or (shape is None and matrix_bytes >= _GIB):
            return (
                f"out of memory: with --num-classes {num_classes}, the "
                f"{num_classes} x {num_classes} {state_dtype} confusion matrix needs "
                f"{matrix_bytes / _GIB:.1f} GiB, more than this machine can "
                "allocate; use fewer classes"
            )
    if shape is not None and dtype is not None:
        needed = math.prod(shape) * _itemsize(dtype) / _GIB
        return (
            f"out of memory: allocating an array of shape {tuple(shape)} and dtype "
            f"{dtype} ({needed:.1f} GiB) failed"
        )
    return f"out of memory: {error}" if str(error) else "out of memory"


def _itemsize(dtype: Any) -> int:
    import numpy as np

    return np.dtype(dtype).itemsize
