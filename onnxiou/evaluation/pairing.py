"""Match label files to prediction files by file stem."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.readers import SUFFIXES

# Number of unmatched stems an error message lists before "and N more".
_LISTED_STEMS = 5


@dataclasses.dataclass(frozen=True)
class Pair:
    """A label file and the prediction file for the same image."""

    stem: str
    label: Path
    prediction: Path


def pair_paths(labels: Path, predictions: Path) -> list[Pair]:
    """Return the label/prediction pairs of two folders or two files, by stem.

    Two folders are matched by file stem (the name without its suffix) over
    their files with a supported suffix. Subfolders and hidden files are
    skipped. Two files form one pair whatever their names. Raises
    EvaluationError for a missing path, a folder paired with a file, a
    folder without supported files, two files with one stem in a folder,
    and stems found on one side only.
    """
    for role, path in (("labels", labels), ("predictions", predictions)):
        if not path.exists():
            raise EvaluationError(f"{role} path not found: {path}")
    if labels.is_file() and predictions.is_file():
        _check_suffix(labels)
        _check_suffix(predictions)
        return [Pair(labels.stem, labels, predictions)]
    if not (labels.is_dir() and predictions.is_dir()):
        raise EvaluationError(
            f"expected LABELS and PREDICTIONS to be two folders or two files, but "
            f"got {_kind(labels)} {labels} and {_kind(predictions)} {predictions}"
        )
    label_files = _files_by_stem(labels, "label")
    prediction_files = _files_by_stem(predictions, "prediction")
    _check_same_stems(label_files, prediction_files)
    return [
        Pair(stem, label_files[stem], prediction_files[stem])
        for stem in sorted(label_files)
    ]


def _kind(path: Path) -> str:
    return "folder" if path.is_dir() else "file"


def _check_suffix(path: Path) -> None:
    if path.suffix.lower() not in SUFFIXES:
        raise EvaluationError(
            f"unsupported file type {path.suffix!r} of {path}; expected one of "
            f"{', '.join(SUFFIXES)}"
        )


def _files_by_stem(folder: Path, role: str) -> dict[str, Path]:
    files: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.suffix.lower() not in SUFFIXES:
            continue
        if not path.is_file():
            continue
        if path.stem in files:
            raise EvaluationError(
                f"two {role} files in {folder} have the stem {path.stem!r}: "
                f"{files[path.stem].name} and {path.name}; keep one"
            )
        files[path.stem] = path
    if not files:
        raise EvaluationError(
            f"no {role} files ({', '.join(SUFFIXES)}) in {folder}; subfolders are "
            "not searched"
        )
    return files


def _check_same_stems(labels: dict[str, Path], predictions: dict[str, Path]) -> None:
    without_prediction = sorted(labels.keys() - predictions.keys())
    without_label = sorted(predictions.keys() - labels.keys())
    problems = []
    if without_prediction:
        problems.append(
            f"{len(without_prediction)} label file(s) have no prediction: "
            f"{_list_stems(without_prediction)}"
        )
    if without_label:
        problems.append(
            f"{len(without_label)} prediction file(s) have no label: "
            f"{_list_stems(without_label)}"
        )
    if problems:
        raise EvaluationError("unmatched file stems: " + "; ".join(problems))


def _list_stems(stems: list[str]) -> str:
    listed = ", ".join(repr(stem) for stem in stems[:_LISTED_STEMS])
    remaining = len(stems) - _LISTED_STEMS
    return f"{listed} and {remaining} more" if remaining > 0 else listed
