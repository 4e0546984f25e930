"""Check a checkpoint document read from JSON before any of it is used.

A checkpoint is a JSON object with these keys, all required except the
last four, which the first release of the format did not write:

- ``format`` and ``version``: checked by the loader before this module.
- ``config``: an object whose values are null, booleans, numbers, strings
  or flat lists of those, as ``get_config()`` returns them.
- ``state_dtype``: one of the metric's state dtypes.
- ``total_cm``: N rows of N pixel counts.
- ``dropped_pixels`` and ``ignored_pixels``: pixel counts.
- ``finished``: the stems of the counted files, each once.
- ``dropped_by_file``, ``fractional_labels`` and ``fractional_predictions``:
  objects that map a stem listed in ``finished`` to a pixel count.
- ``dropped_labels`` and ``dropped_predictions``: objects that map a value,
  as text, to a pixel count.

A pixel count is a non-negative whole number, because the command line
gives every pixel the weight 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from onnxiou._spec import STATE_DTYPES

# Progress fields that map a stem to the pixel count of that file.
PER_FILE_COUNTS = ("dropped_by_file", "fractional_labels", "fractional_predictions")
# Progress fields that map a value, as text, to its pixel count over the run.
PER_VALUE_COUNTS = ("dropped_labels", "dropped_predictions")

REQUIRED_KEYS = (
    "format",
    "version",
    "config",
    "state_dtype",
    "total_cm",
    "dropped_pixels",
    "ignored_pixels",
    "finished",
    "dropped_by_file",
)
OPTIONAL_KEYS = ("fractional_labels", "fractional_predictions", *PER_VALUE_COUNTS)

# Integer counts above 2**53 are not stored exactly by the float64 counters
# of the metric, and save_checkpoint writes those counters as floats.
MAX_INTEGER_COUNT = 2**53
# total_cm is read into an int64 matrix when every cell is an integer.
_INT64_LIMIT = 2**63

_SHOWN_CHARACTERS = 40


class InvalidCheckpoint(ValueError):
    """A checkpoint document without the structure or types that are written."""


class InvalidCount(InvalidCheckpoint):
    """A pixel count that is negative, fractional or not finite."""


def check_document(document: dict[str, Any]) -> np.ndarray:
    """Check every key of ``document`` and return ``total_cm`` as a matrix.

    Raises InvalidCheckpoint naming the first key without a valid value.
    """
    _check_keys(document)
    _check_config(document["config"])
    _check_state_dtype(document["state_dtype"])
    check_count("dropped_pixels", document["dropped_pixels"])
    check_count("ignored_pixels", document["ignored_pixels"])
    finished = _check_finished(document["finished"])
    for key in PER_FILE_COUNTS:
        counts = _check_count_map(key, document.get(key, {}), "stems")
        unknown = [stem for stem in counts if stem not in finished]
        if unknown:
            raise InvalidCheckpoint(
                f"{key} lists the stem {_shown(unknown[0])}, which is not in finished"
            )
    for key in PER_VALUE_COUNTS:
        _check_count_map(key, document.get(key, {}), "values as text")
    return matrix_from_rows(document["total_cm"], document["state_dtype"])


def _check_keys(document: dict[str, Any]) -> None:
    missing = [key for key in REQUIRED_KEYS if key not in document]
    if missing:
        raise InvalidCheckpoint(f"missing key {missing[0]!r}")
    known = set(REQUIRED_KEYS) | set(OPTIONAL_KEYS)
    unexpected = [key for key in document if key not in known]
    if unexpected:
        raise InvalidCheckpoint(
            f"unexpected key {_shown(unexpected[0])}; expected only "
            f"{', '.join(REQUIRED_KEYS + OPTIONAL_KEYS)}"
        )


def _check_config(config: Any) -> None:
    if not isinstance(config, dict):
        raise InvalidCheckpoint(f"config must be an object, but got {_kind(config)}")
    for key, value in config.items():
        items = value if isinstance(value, list) else [value]
        if not all(_is_scalar(item) for item in items):
            raise InvalidCheckpoint(
                f"config[{_shown(key)}] must be null, a boolean, a number, a "
                f"string or a list of those, but got {_kind(value)} {_shown(value)}"
            )


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def _check_state_dtype(state_dtype: Any) -> None:
    if not isinstance(state_dtype, str) or state_dtype not in STATE_DTYPES:
        raise InvalidCheckpoint(
            f"state_dtype must be one of {', '.join(STATE_DTYPES)}, but got "
            f"{_kind(state_dtype)} {_shown(state_dtype)}"
        )


def _check_finished(finished: Any) -> set[str]:
    if not isinstance(finished, list):
        raise InvalidCheckpoint(
            f"finished must be a list of stems, but got {_kind(finished)}"
        )
    seen: set[str] = set()
    for index, stem in enumerate(finished):
        if not isinstance(stem, str):
            raise InvalidCheckpoint(
                f"finished[{index}] must be a string, but got {_kind(stem)} "
                f"{_shown(stem)}"
            )
        if stem in seen:
            raise InvalidCheckpoint(f"finished lists the stem {_shown(stem)} twice")
        seen.add(stem)
    return seen


def _check_count_map(key: str, counts: Any, keys: str) -> dict[str, Any]:
    """Check that ``counts`` maps ``keys`` (described in words) to pixel counts."""
    if not isinstance(counts, dict):
        raise InvalidCheckpoint(
            f"{key} must be an object that maps {keys} to pixel counts, but got "
            f"{_kind(counts)}"
        )
    for name, value in counts.items():
        check_count(f"{key}[{_shown(name)}]", value)
    return counts


def check_count(name: str, value: Any) -> float:
    """Return the pixel count ``value`` as a float.

    Raises InvalidCount for a negative, fractional or non-finite number and
    InvalidCheckpoint for anything else that is not a number (booleans
    included) or an integer above MAX_INTEGER_COUNT.
    """
    if type(value) is int:
        if value < 0:
            raise InvalidCount(f"{name} is {_shown(value)}")
        if value > MAX_INTEGER_COUNT:
            raise InvalidCheckpoint(
                f"{name} is {_shown(value)}, above 2**53, the largest integer "
                "count that is stored exactly"
            )
        return float(value)
    if type(value) is not float:
        raise InvalidCheckpoint(
            f"{name} must be a number, but got {_kind(value)} {_shown(value)}"
        )
    if not (math.isfinite(value) and value >= 0 and value.is_integer()):
        raise InvalidCount(f"{name} is {value!r}")
    return value


def matrix_from_rows(rows: Any, state_dtype: str) -> np.ndarray:
    """Return ``rows`` as a square matrix in ``state_dtype``, checking every cell.

    The cells are checked before the conversion, which would truncate a
    fractional count to an integer state dtype.
    """
    _check_rows(rows)
    matrix = np.array(rows)
    with np.errstate(invalid="ignore"):
        good = np.isfinite(matrix) & (matrix >= 0) & (matrix == np.trunc(matrix))
    if not good.all():
        index = [int(i) for i in np.argwhere(~good)[0]]
        raise InvalidCount(f"total_cm{index} is {matrix[tuple(index)].item()!r}")
    converted = matrix.astype(state_dtype)
    if not np.array_equal(converted, matrix):
        raise InvalidCheckpoint(
            f"total_cm has counts that state_dtype {state_dtype} does not store exactly"
        )
    return converted


def _check_rows(rows: Any) -> None:
    """Raise InvalidCheckpoint unless ``rows`` is N lists of N numbers, N >= 1.

    Booleans are rejected although numpy would read them as 0 and 1, and so
    are integers that do not fit the int64 matrix numpy builds from them.
    """
    if not isinstance(rows, list) or not rows:
        raise InvalidCheckpoint(
            f"total_cm must be a non-empty list of rows, but got {_kind(rows)}"
        )
    size = len(rows)
    for row_index, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != size:
            raise InvalidCheckpoint(
                f"total_cm must be {size} rows of {size} numbers, but row "
                f"{row_index} is {_kind(row)}{_length(row)}"
            )
        if not all(_is_cell(cell) for cell in row):
            _reject_cell(row_index, row)


def _is_cell(value: Any) -> bool:
    if type(value) is int:
        return -_INT64_LIMIT <= value < _INT64_LIMIT
    return type(value) is float


def _reject_cell(row_index: int, row: Sequence[Any]) -> None:
    column = next(index for index, cell in enumerate(row) if not _is_cell(cell))
    cell = row[column]
    name = f"total_cm[{row_index}, {column}]"
    if type(cell) is int:
        raise InvalidCheckpoint(
            f"{name} is {_shown(cell)}, too large for a 64-bit count"
        )
    raise InvalidCheckpoint(
        f"{name} must be a number, but got {_kind(cell)} {_shown(cell)}"
    )


def _kind(value: Any) -> str:
    """Return the JSON type of ``value`` with its article, such as "a list"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def _length(value: Any) -> str:
    return f" of {len(value)} items" if isinstance(value, list) else ""


def _shown(value: Any) -> str:
    """Return ``repr(value)``, shortened in the middle if it is long."""
    text = repr(value)
    if len(text) <= _SHOWN_CHARACTERS:
        return text
    half = _SHOWN_CHARACTERS // 2
    return f"{text[:half]}...{text[-half:]} ({len(text)} characters)"
