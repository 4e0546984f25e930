"""Save and restore the progress of an evaluation run.

A checkpoint is a JSON file with the metric configuration, the confusion
matrix, the dropped and ignored pixel counts, the stems of the files
already counted and what they dropped or truncated. It is written to a
temporary file in the same folder and moved over the old one with
``os.replace``, so a crash while saving leaves the previous checkpoint
intact.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.options import Metric
from onnxiou.evaluation.progress import RunProgress

logger = logging.getLogger(__name__)

FORMAT = "onnxiou-evaluate-checkpoint"
VERSION = 1


@dataclasses.dataclass
class Checkpoint:
    """The resumable state of a run.

    ``config`` is the metric's ``get_config()`` plus the run options that
    change the counts, such as ``binary_foreground``.
    """

    config: dict[str, Any]
    total_cm: np.ndarray
    dropped_pixels: float
    ignored_pixels: float
    progress: RunProgress


def run_config(metric: Metric, run_options: dict[str, Any]) -> dict[str, Any]:
    """Return the configuration a checkpoint stores and a resumed run must match."""
    return {**metric.get_config(), **run_options}


def capture(
    metric: Metric, progress: RunProgress, run_options: dict[str, Any] | None = None
) -> Checkpoint:
    """Return a checkpoint of ``metric`` after the files in ``progress``."""
    return Checkpoint(
        config=run_config(metric, run_options or {}),
        total_cm=metric.total_cm,
        dropped_pixels=metric.dropped_weight,
        ignored_pixels=metric.ignored_weight,
        progress=progress.copy(),
    )


def restore(
    metric: Metric, checkpoint: Checkpoint, run_options: dict[str, Any] | None = None
) -> None:
    """Load the matrix and counters of ``checkpoint`` into ``metric``.

    Raises EvaluationError if the checkpoint was written for another
    configuration or run options, or contains a matrix the metric cannot take.
    """
    current = run_config(metric, run_options or {})
    differences = config_differences(checkpoint.config, current)
    if differences:
        raise EvaluationError(
            "the checkpoint was written with other options ("
            + "; ".join(differences)
            + "); rerun with the checkpoint's options or start a new checkpoint"
        )
    try:
        metric.load_state(
            checkpoint.total_cm,
            dropped_weight=checkpoint.dropped_pixels,
            ignored_weight=checkpoint.ignored_pixels,
        )
    except (TypeError, ValueError) as error:
        raise EvaluationError(f"invalid checkpoint state: {error}") from None


def config_differences(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Return one ``key: saved X, now Y`` line per differing configuration key."""
    saved = _json_round_trip(saved)
    current = _json_round_trip(current)
    lines = []
    for key in sorted(saved.keys() | current.keys()):
        if saved.get(key) != current.get(key):
            lines.append(f"{key}: saved {saved.get(key)!r}, now {current.get(key)!r}")
    return lines


def _json_round_trip(value: Any) -> Any:
    return json.loads(json.dumps(value))


def save_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Write ``checkpoint`` to ``path`` atomically."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "config": checkpoint.config,
        "state_dtype": checkpoint.total_cm.dtype.name,
        "total_cm": checkpoint.total_cm.tolist(),
        "dropped_pixels": checkpoint.dropped_pixels,
        "ignored_pixels": checkpoint.ignored_pixels,
        "finished": checkpoint.progress.finished,
        **{key: getattr(checkpoint.progress, key) for key in _PROGRESS_COUNTS},
    }
    write_json_atomically(path, document)
    logger.debug("saved checkpoint %s after %d files", path, len(document["finished"]))


def write_json_atomically(path: Path, document: Any) -> None:
    """Write ``document`` as JSON to a temporary file, then replace ``path``.

    The file gets the permissions of ``tempfile.mkstemp``: read and write for
    the owner only. Raises EvaluationError naming the file when it cannot be
    written.
    """
    try:
        descriptor, temporary = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
        )
    except OSError as error:
        raise EvaluationError(f"cannot write {path}: {error}") from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(document, stream, allow_nan=False)
            stream.write("\n")
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as error:
        raise EvaluationError(f"cannot write {path}: {error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises EvaluationError naming the file if it is missing, not valid JSON,
    not a checkpoint of this version, or has a count that is not a
    non-negative whole number.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvaluationError(
            f"checkpoint {path} not found; run without --resume to start a new run"
        ) from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise EvaluationError(f"cannot read checkpoint {path}: {error}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise EvaluationError(f"{path} is not an onnxiou evaluate checkpoint")
    if document.get("version") != VERSION:
        raise EvaluationError(
            f"checkpoint {path} has version {document.get('version')!r}; this "
            f"onnxiou reads version {VERSION}"
        )
    try:
        return _checkpoint_from_document(document)
    except _CountError as error:
        raise EvaluationError(
            f"invalid checkpoint {path}: {error}; the command line gives every "
            "pixel the weight 1, so every count must be a non-negative whole number"
        ) from None
    except (KeyError, TypeError, ValueError) as error:
        raise EvaluationError(f"invalid checkpoint {path}: {error!r}") from None


# Progress fields that map a stem or a value to a pixel count. Checkpoints
# may lack all but the first, which the first release of the format wrote.
_PROGRESS_COUNTS = (
    "dropped_by_file",
    "dropped_labels",
    "dropped_predictions",
    "fractional_labels",
    "fractional_predictions",
)


class _CountError(ValueError):
    """A count in a checkpoint that is not a non-negative whole number."""


def _checkpoint_from_document(document: dict[str, Any]) -> Checkpoint:
    counts: dict[str, dict[str, Any]] = {
        key: _count_map(key, document.get(key, {}), int) for key in _PROGRESS_COUNTS[1:]
    }
    counts["dropped_by_file"] = _count_map(
        "dropped_by_file", document["dropped_by_file"], float
    )
    finished = [str(stem) for stem in document["finished"]]
    return Checkpoint(
        config=dict(document["config"]),
        total_cm=_matrix(document["total_cm"], document["state_dtype"]),
        dropped_pixels=_count("dropped_pixels", document["dropped_pixels"]),
        ignored_pixels=_count("ignored_pixels", document["ignored_pixels"]),
        progress=RunProgress(finished, **counts),
    )


def _matrix(rows: Any, state_dtype: str) -> np.ndarray:
    """Return ``rows`` as the matrix in ``state_dtype``, checking every cell.

    The cells are checked before the conversion, which would truncate a
    fractional count to an integer state dtype.
    """
    matrix = np.array(rows)
    if matrix.dtype.kind not in "iuf":
        raise TypeError(f"total_cm has dtype {matrix.dtype}, expected numbers")
    with np.errstate(invalid="ignore"):
        good = np.isfinite(matrix) & (matrix >= 0) & (matrix == np.trunc(matrix))
    if not good.all():
        index = [int(i) for i in np.argwhere(~good)[0]]
        raise _CountError(f"total_cm{index} is {matrix[tuple(index)].item()!r}")
    converted = matrix.astype(state_dtype)
    if not np.array_equal(converted, matrix):
        raise ValueError(
            f"total_cm has counts that state_dtype {state_dtype} does not store exactly"
        )
    return converted


def _count_map(
    name: str, counts: dict[str, Any], kind: type[int] | type[float]
) -> dict[str, Any]:
    return {
        str(key): kind(_count(f"{name}[{key!r}]", value))
        for key, value in counts.items()
    }


def _count(name: str, value: Any) -> float:
    """Return ``value`` as a float, checking that it is a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(
            f"{name} must be a number, but got {type(value).__name__} {value!r}"
        )
    if not (math.isfinite(value) and value >= 0 and float(value).is_integer()):
        raise _CountError(f"{name} is {value!r}")
    return float(value)


class CheckpointSaver:
    """Saves the checkpoint of a run to ``path`` after every ``every`` files.

    ``run_options`` are the run options that change the counts, which the
    checkpoint stores with the metric configuration.
    """

    def __init__(
        self, path: Path, every: int, run_options: dict[str, Any] | None = None
    ) -> None:
        if every < 1:
            raise ValueError(
                f"Expected argument `every` to be at least 1, but got {every!r}."
            )
        self.path = path
        self.every = every
        self.run_options = dict(run_options or {})

    def file_done(self, metric: Metric, progress: RunProgress) -> None:
        """Save if the number of counted files is a multiple of ``every``."""
        if len(progress.finished) % self.every == 0:
            self.save(metric, progress)

    def save(self, metric: Metric, progress: RunProgress) -> None:
        save_checkpoint(self.path, capture(metric, progress, self.run_options))
