"""Record of the files a run has counted and the pixels each one dropped."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass
class RunProgress:
    """Stems of the counted files in order, and dropped pixels per file.

    ``dropped_by_file`` lists only files with dropped pixels, so that the
    checkpoint of a clean run stays small.
    """

    finished: list[str] = dataclasses.field(default_factory=list)
    dropped_by_file: dict[str, float] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        self._finished_set = set(self.finished)
        if len(self._finished_set) != len(self.finished):
            raise ValueError(
                "Expected argument `finished` to list each stem once, but got "
                f"{len(self.finished) - len(self._finished_set)} repeats."
            )

    def add(self, stem: str, dropped: float) -> None:
        """Record that file ``stem`` was counted, with ``dropped`` pixels dropped."""
        self.finished.append(stem)
        self._finished_set.add(stem)
        if dropped:
            self.dropped_by_file[stem] = dropped

    def is_finished(self, stem: str) -> bool:
        return stem in self._finished_set

    def copy(self) -> RunProgress:
        return RunProgress(list(self.finished), dict(self.dropped_by_file))
