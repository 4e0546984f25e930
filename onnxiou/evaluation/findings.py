"""Values in label maps and predictions that the metric drops or truncates.

The metric drops a pixel whose label or predicted class is outside
``[0, num_classes)`` and not ignored, and it truncates fractional values
to class ids, as a cast to an integer type does. Both are easy to cause by
accident (a 0/255 mask, a bilinear resize), so the run counts them per
value and per file and reports them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

# Distinct values whose pixels a run counts one by one. The pixels of
# further values are counted together under OTHER_VALUES, so a checkpoint
# stays small even when a label map is noise.
MAX_TRACKED_VALUES = 16

OTHER_VALUES = "other"

# Values and files that a message lists before "and N more".
LISTED_ITEMS = 3


@dataclasses.dataclass(frozen=True)
class FileFindings:
    """The dropped and truncated pixels of one counted pair.

    ``dropped_labels`` and ``dropped_predictions`` map a value, as text, to
    its number of pixels. A pixel whose label and predicted class are both
    out of range is counted once in ``dropped`` and in both maps.
    """

    dropped: float = 0.0
    dropped_labels: dict[str, int] = dataclasses.field(default_factory=dict)
    dropped_predictions: dict[str, int] = dataclasses.field(default_factory=dict)
    fractional_labels: int = 0
    fractional_predictions: int = 0


def class_ids(array: np.ndarray) -> np.ndarray:
    """Return ``array`` as the metric reads class ids: floats truncated."""
    if array.dtype.kind == "f":
        return np.trunc(array)
    return array


def out_of_range_values(
    array: np.ndarray, num_classes: int, ignored: tuple[int, ...] = ()
) -> dict[str, int]:
    """Return the pixel count of each value outside ``[0, num_classes)``.

    NaN is out of range. Values in ``ignored`` are not reported.
    """
    ids = class_ids(array)
    inside = (ids >= 0) & (ids < num_classes)
    if ignored:
        inside |= np.isin(ids, ignored)
    values, counts = np.unique(ids[~inside], return_counts=True)
    return {
        value_text(value): int(count)
        for value, count in zip(values.tolist(), counts.tolist(), strict=True)
    }


def fractional_count(array: np.ndarray) -> int:
    """Return the number of finite values of ``array`` that are not whole."""
    if array.dtype.kind != "f":
        return 0
    return int(np.count_nonzero(np.isfinite(array) & (array != np.trunc(array))))


def first_fractional_value(array: np.ndarray) -> float:
    """Return the first finite value of ``array`` that is not whole."""
    flat = array.ravel()
    mask = np.isfinite(flat) & (flat != np.trunc(flat))
    return float(flat[np.argmax(mask)])


def value_text(value: float | int) -> str:
    """Return a label value as text: ``255`` for 255.0, ``nan`` for NaN."""
    number = float(value)
    if math.isnan(number):
        return "nan"
    if number.is_integer():
        return str(int(number))
    return repr(number)


def merge_values(total: dict[str, int], found: dict[str, int]) -> None:
    """Add the pixel counts in ``found`` to ``total``, tracking a few values."""
    for value, count in found.items():
        if value not in total and len(total) >= MAX_TRACKED_VALUES:
            value = OTHER_VALUES
        total[value] = total.get(value, 0) + count


def format_values(counts: dict[str, int]) -> str:
    """Return ``255 (40 pixels), -1 (3 pixels)`` for the most frequent values."""
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    listed = [
        f"{'other values' if value == OTHER_VALUES else value} ({pixels(count)})"
        for value, count in ranked[:LISTED_ITEMS]
    ]
    text = ", ".join(listed)
    remaining = len(ranked) - LISTED_ITEMS
    return f"{text} and {remaining} more" if remaining > 0 else text


def pixels(count: float) -> str:
    """Return ``1 pixel`` or ``N pixels``."""
    return f"{count:.0f} pixel" if count == 1 else f"{count:.0f} pixels"


def single_whole_value(counts: dict[str, int]) -> int | None:
    """Return the value in ``counts`` if it is the only one and a whole number."""
    if len(counts) != 1:
        return None
    (value,) = counts
    try:
        return int(value)
    except ValueError:
        return None
