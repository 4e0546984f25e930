"""The layout of the accumulation buffer: the cell of each (true, predicted) pair.

The accumulate stage never branches per pixel. Instead, every pair is sent
to one cell of a small ``[rows, cols]`` buffer, and the cells are laid out
so that the confusion matrix, the ignored pairs and the dropped pairs each
occupy known cells:

* columns: ``0`` for a prediction below 0, ``1 + k`` for class ``k``,
  ``num_classes + 1`` for a prediction at or above ``num_classes``;
* rows: true labels clipped to ``[low, high]`` and shifted by ``-low``.
  The window ``[low, high]`` covers ``[-1, num_classes]`` and every ignored
  id within ``window`` of that range, so those ids get a row of their own
  at no per-pixel cost. Ignored ids farther away share one extra last row,
  which costs one comparison per id and pixel.
"""

from __future__ import annotations

import dataclasses

from onnxiou._spec import MetricSpec

# Ignored ids within this distance of [0, num_classes) get their own row.
# 255 (the usual "void" label) is inside it for every class count.
SCATTER_WINDOW = 1024


@dataclasses.dataclass(frozen=True)
class BinLayout:
    """Row and column bookkeeping of the accumulation buffer."""

    num_classes: int
    low: int
    high: int
    near_ignored: tuple[int, ...]
    far_ignored: tuple[int, ...]

    @property
    def rows(self) -> int:
        return self.high - self.low + 1 + (1 if self.far_ignored else 0)

    @property
    def cols(self) -> int:
        return self.num_classes + 2

    @property
    def first_class_row(self) -> int:
        return -self.low

    @property
    def far_row(self) -> int:
        """Row shared by the far ignored ids (valid only when there are any)."""
        return self.rows - 1

    def ignored_rows(self) -> list[int]:
        rows = [class_id - self.low for class_id in self.near_ignored]
        if self.far_ignored:
            rows.append(self.far_row)
        return rows

    def outside_rows(self) -> list[int]:
        """Rows of true labels outside ``[0, num_classes)`` that are not ignored."""
        class_rows = range(self.first_class_row, self.first_class_row + self.num_classes)
        skip = set(class_rows) | set(self.ignored_rows())
        return [row for row in range(self.rows) if row not in skip]

    def kept_class_rows(self) -> list[float]:
        """1.0 for each class row that counts, 0.0 for an ignored class."""
        return [
            0.0 if class_id in self.near_ignored else 1.0
            for class_id in range(self.num_classes)
        ]


def make_layout(spec: MetricSpec, window: int) -> BinLayout:
    """Lay out the buffer for ``spec``; ``window`` 0 gives the smallest buffer."""
    classes = spec.num_classes
    near = tuple(
        k for k in spec.ignore_class if -1 - window <= k <= classes + window
    )
    far = tuple(k for k in spec.ignore_class if k not in near)
    outside_near = [k for k in near if not 0 <= k < classes]
    low = min([-1] + [k - 1 for k in outside_near if k < 0])
    high = max([classes] + [k + 1 for k in outside_near if k >= classes])
    return BinLayout(classes, low, high, near, far)
