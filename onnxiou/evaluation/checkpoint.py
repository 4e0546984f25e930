"""Save and restore the progress of an evaluation run.

A checkpoint is a JSON file with the metric configuration, the confusion
matrix, the dropped and ignored pixel counts, and the stems of the files
already counted. It is written to a temporary file in the same folder and
moved over the old one with ``os.replace``, so a crash while saving leaves
the previous checkpoint intact.
"""

from __future__ import annotations

import dataclasses
import json
import logging
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
    """The resumable state of a run."""

    config: dict[str, Any]
    total_cm: np.ndarray
    dropped_pixels: float
    ignored_pixels: float
    progress: RunProgress


def capture(metric: Metric, progress: RunProgress) -> Checkpoint:
    """Return a checkpoint of ``metric`` after the files in ``progress``."""
    return Checkpoint(
        config=metric.get_config(),
        total_cm=metric.total_cm,
        dropped_pixels=metric.dropped_weight,
        ignored_pixels=metric.ignored_weight,
        progress=progress.copy(),
    )


def restore(metric: Metric, checkpoint: Checkpoint) -> None:
    """Load the matrix and counters of ``checkpoint`` into ``metric``.

    Raises EvaluationError if the checkpoint was written for another
    configuration or contains a matrix the metric cannot take.
    """
    differences = config_differences(checkpoint.config, metric.get_config())
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
        "dropped_by_file": checkpoint.progress.dropped_by_file,
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

    Raises EvaluationError naming the file if it is missing, not valid JSON
    or not a checkpoint of this version.
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
    except (KeyError, TypeError, ValueError) as error:
        raise EvaluationError(f"invalid checkpoint {path}: {error!r}") from None


def _checkpoint_from_document(document: dict[str, Any]) -> Checkpoint:
    dropped_by_file = {
        str(stem): float(count) for stem, count in document["dropped_by_file"].items()
    }
    finished = [str(stem) for stem in document["finished"]]
    return Checkpoint(
        config=dict(document["config"]),
        total_cm=np.array(document["total_cm"], dtype=document["state_dtype"]),
        dropped_pixels=float(document["dropped_pixels"]),
        ignored_pixels=float(document["ignored_pixels"]),
        progress=RunProgress(finished, dropped_by_file),
    )


class CheckpointSaver:
    """Saves the checkpoint of a run to ``path`` after every ``every`` files."""

    def __init__(self, path: Path, every: int) -> None:
        if every < 1:
            raise ValueError(
                f"Expected argument `every` to be at least 1, but got {every!r}."
            )
        self.path = path
        self.every = every

    def file_done(self, metric: Metric, progress: RunProgress) -> None:
        """Save if the number of counted files is a multiple of ``every``."""
        if len(progress.finished) % self.every == 0:
            self.save(metric, progress)

    def save(self, metric: Metric, progress: RunProgress) -> None:
        save_checkpoint(self.path, capture(metric, progress))
