"""Read label maps, predictions and class-name files from disk.

Label maps and label-map predictions may be PNG (8-bit, 16-bit, bilevel or
palette), ``.npy`` or TIFF. A palette PNG is read as its indices, not its
colours, and a bilevel PNG as 0 and 1. Class scores (logits or
probabilities) are arrays with one more axis than the label map, which in
practice means ``.npy`` or TIFF.
"""

from __future__ import annotations

import contextlib
import logging
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from onnxiou.evaluation.errors import EvaluationError

SUFFIXES = (".png", ".npy", ".tif", ".tiff")

# Single-channel PNG modes whose pixel values are the stored integers.
_PNG_MODES = ("1", "L", "P", "I", "I;16", "I;16B", "I;16L")

_EXTRA_HINT = "install it with: pip install 'onnxiou[images]'"

logger = logging.getLogger(__name__)


def read_array(path: Path) -> np.ndarray:
    """Return the array stored in a PNG, ``.npy`` or TIFF file.

    Raises EvaluationError naming the file when it cannot be read, contains
    something other than numbers, or contains no pixels (an array of size 0).
    """
    suffix = path.suffix.lower()
    if suffix == ".png":
        array = _read_png(path)
    elif suffix == ".npy":
        array = _read_npy(path)
    elif suffix in (".tif", ".tiff"):
        array = _read_tiff(path)
    else:
        raise EvaluationError(
            f"unsupported file type {path.suffix!r} of {path}; expected one of "
            f"{', '.join(SUFFIXES)}"
        )
    if array.dtype.kind not in "biuf":
        raise EvaluationError(
            f"{path} has dtype {array.dtype}; expected integers, bools or floats"
        )
    if array.size == 0:
        raise EvaluationError(
            f"{path} contains no pixels (shape {array.shape}); expected a "
            "non-empty label map or prediction"
        )
    return array


def _read_png(path: Path) -> np.ndarray:
    try:
        from PIL import Image
    except ImportError:
        raise EvaluationError(f"reading {path} needs Pillow; {_EXTRA_HINT}") from None
    try:
        with Image.open(path) as image:
            image_format, mode = image.format, image.mode
            if image_format == "PNG" and mode == "1":
                return _bilevel_pixels(image)
            if image_format == "PNG" and mode in _PNG_MODES:
                return np.asarray(image)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise EvaluationError(f"cannot read {path}: {error}") from None
    if image_format != "PNG":
        raise EvaluationError(f"{path} is a {image_format} image, not a PNG")
    raise EvaluationError(
        f"{path} is a PNG of mode {mode!r}; expected a single-channel map of "
        f"class ids (one of the modes {', '.join(_PNG_MODES)}), not colours"
    )


def _bilevel_pixels(image: Any) -> np.ndarray:
    """Return the pixels of a mode "1" image as uint8 0 and 1.

    Pillow returns such pixels as a bool array whose True bytes may be 255,
    which code that views the bools as bytes would read as label 255.
    """
    grey = np.asarray(image.convert("L"))
    return (grey > 0).astype(np.uint8)


# Exceptions of numpy.lib.format for a file that is not a valid .npy array.
# numpy tokenizes the header and parses it with ast.literal_eval, so a
# garbled header can also raise TokenError, SyntaxError or OverflowError.
_NPY_FORMAT_ERRORS = (
    ValueError,
    EOFError,
    OverflowError,
    SyntaxError,
    tokenize.TokenError,
)


def _read_npy(path: Path) -> np.ndarray:
    """Read one array with ``numpy.lib.format``.

    ``np.load`` would also open ``.npz`` archives and, for a file without the
    ``.npy`` header, suggest unpickling it; a label file is neither.
    """
    try:
        with open(path, "rb") as stream:
            return np.lib.format.read_array(stream, allow_pickle=False)
    except (OSError, MemoryError) as error:
        raise EvaluationError(f"cannot read {path}: {error}") from None
    except _NPY_FORMAT_ERRORS as error:
        raise EvaluationError(
            f"{path} is not a valid .npy array file: {_npy_reason(error)}"
        ) from None


def _npy_reason(error: Exception) -> str:
    reason = str(error)
    if "allow_pickle" in reason:
        # numpy's message advises allow_pickle=True, which a label file never needs.
        return "it contains Python objects (an object array), not numbers"
    return reason


def _read_tiff(path: Path) -> np.ndarray:
    """Read the first image series of a TIFF file.

    tifffile logs what it skips in a damaged file (such as an invalid
    offset to the first page) and may then return an empty array. Those log
    messages are kept out of the terminal and become the reason in the
    error.
    """
    try:
        import tifffile
    except ImportError:
        raise EvaluationError(f"reading {path} needs tifffile; {_EXTRA_HINT}") from None
    with _captured_log("tifffile") as messages:
        try:
            array = np.asarray(tifffile.imread(path))
        except (OSError, ValueError, EOFError, MemoryError) as error:
            # tifffile.TiffFileError is a ValueError.
            raise EvaluationError(f"cannot read {path}: {error}") from None
        except Exception as error:  # noqa: BLE001
            # The decoders behind tifffile raise many other types on corrupt
            # data: with tifffile 2026.3.3, zlib.error, lzma.LZMAError,
            # struct.error, ZeroDivisionError, TypeError and
            # NotImplementedError were seen.
            raise EvaluationError(
                f"cannot read {path}: corrupt TIFF data "
                f"({type(error).__name__}: {error})"
            ) from None
    for message in messages:
        logger.debug("tifffile on %s: %s", path, message)
    if array.size == 0 and messages:
        raise EvaluationError(
            f"cannot read {path}: no image data; tifffile reports: {messages[0]}"
        )
    return array


class _ListHandler(logging.Handler):
    """Logging handler that appends each formatted message to a list."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__()
        self.messages = messages

    def emit(self, record: logging.LogRecord) -> None:
        # tifffile starts its messages with the repr of the object that
        # logs, such as "<tifffile.TiffPages @8> ", which means nothing to
        # the user.
        self.messages.append(re.sub(r"^(<[^>]*> )+", "", record.getMessage()))


@contextlib.contextmanager
def _captured_log(name: str) -> Iterator[list[str]]:
    """Collect the messages of logger ``name`` instead of passing them on."""
    messages: list[str] = []
    handler = _ListHandler(messages)
    target = logging.getLogger(name)
    propagate = target.propagate
    target.addHandler(handler)
    target.propagate = False
    try:
        yield messages
    finally:
        target.removeHandler(handler)
        target.propagate = propagate


def read_class_names(path: Path) -> list[str]:
    """Return the class names in ``path``, one per line, line 1 being class 0.

    Trailing whitespace and trailing blank lines are dropped. Raises
    EvaluationError if the file is missing or has a blank line before the
    last name.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise EvaluationError(f"cannot read class names from {path}: {error}") from None
    names = [line.rstrip() for line in text.splitlines()]
    while names and not names[-1]:
        names.pop()
    if not names:
        raise EvaluationError(
            f"class names file {path} is empty; expected one per line"
        )
    for number, name in enumerate(names, start=1):
        if not name:
            raise EvaluationError(
                f"class names file {path} has a blank line {number}; expected one "
                "name per line, line 1 being class 0"
            )
    return names
