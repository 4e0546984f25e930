"""Record of the files a run has counted and what each one dropped."""

from __future__ import annotations

import dataclasses

from onnxiou.evaluation.findings import FileFindings, merge_values


@dataclasses.dataclass
class RunProgress:
    """Stems of the counted files in order, and what they dropped or truncated.

    ``dropped_by_file``, ``fractional_labels`` and ``fractional_predictions``
    map a stem to its number of pixels and list only files with such pixels,
    so that the checkpoint of a clean run stays small. ``dropped_labels``
    and ``dropped_predictions`` map an out-of-range value, as text, to its
    number of pixels over the run (see :mod:`.findings`).
    """

    finished: list[str] = dataclasses.field(default_factory=list)
    dropped_by_file: dict[str, float] = dataclasses.field(default_factory=dict)
    dropped_labels: dict[str, int] = dataclasses.field(default_factory=dict)
    dropped_predictions: dict[str, int] = dataclasses.field(default_factory=dict)
    fractional_labels: dict[str, int] = dataclasses.field(default_factory=dict)
    fractional_predictions: dict[str, int] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self._finished_set = set(self.finished)
        if len(self._finished_set) != len(self.finished):
            raise ValueError(
                "Expected argument `finished` to list each stem once, but got "
                f"{len(self.finished) - len(self._finished_set)} repeats."
            )

    def add(self, stem: str, findings: FileFindings) -> None:
        """Record that file ``stem`` was counted, with what it dropped."""
        self.finished.append(stem)
        self._finished_set.add(stem)
        if findings.dropped:
            self.dropped_by_file[stem] = findings.dropped
        merge_values(self.dropped_labels, findings.dropped_labels)
        merge_values(self.dropped_predictions, findings.dropped_predictions)
        if findings.fractional_labels:
            self.fractional_labels[stem] = findings.fractional_labels
        if findings.fractional_predictions:
            self.fractional_predictions[stem] = findings.fractional_predictions

    def is_finished(self, stem: str) -> bool:
        return stem in self._finished_set

    def copy(self) -> RunProgress:
        return RunProgress(
            list(self.finished),
            dict(self.dropped_by_file),
            dict(self.dropped_labels),
            dict(self.dropped_predictions),
            dict(self.fractional_labels),
            dict(self.fractional_predictions),
        )
