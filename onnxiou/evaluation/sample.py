"""Locate the evaluation sample bundled with the source checkout."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import onnxiou
from onnxiou.evaluation.errors import EvaluationError

DEFAULT_SAMPLE = "arc2017"


@dataclasses.dataclass(frozen=True)
class SampleSet:
    """The folders and class-name file of one bundled sample set."""

    labels: Path
    predictions: Path
    class_names: Path


def sample_root() -> Path:
    """Return ``examples/`` next to the ``onnxiou`` package folder."""
    return Path(onnxiou.__file__).resolve().parent.parent / "examples"


def bundled_sample(name: str = DEFAULT_SAMPLE) -> SampleSet:
    """Return the paths of sample set ``name`` from ``examples/``.

    Raises EvaluationError when the set is missing, which is the case for
    an installed wheel because the sample ships only with the source
    checkout.
    """
    folder = sample_root() / name
    sample = SampleSet(
        labels=folder / "labels",
        predictions=folder / "predictions",
        class_names=folder / "classes.txt",
    )
    missing = [
        path
        for path in (sample.labels, sample.predictions, sample.class_names)
        if not path.exists()
    ]
    if missing:
        raise EvaluationError(
            f"no LABELS and PREDICTIONS given, and the bundled sample {folder} is "
            f"not there (missing {missing[0]}); the sample ships with the source "
            'checkout, so install from a clone (pip install -e ".[images]") or '
            "pass LABELS and PREDICTIONS"
        )
    return sample
