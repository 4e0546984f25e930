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
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from onnxiou.evaluation.checkpoint_schema import (
    InvalidCheckpoint,
    InvalidCount,
    check_document,
)
from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.options import Metric
from onnxiou.evaluation.progress import RunProgress

logger = logging.getLogger(__name__)

FORMAT = "onnxiou-evaluate-checkpoint"
VERSION = 1

# Progress fields that map a stem or a value to a pixel count, in the order
# save_checkpoint writes them.
_PROGRESS_COUNTS = (
    "dropped_by_file",
    "dropped_labels",
    "dropped_predictions",
    "fractional_labels",
    "fractional_predictions",
)


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
    metric: Metric,
    checkpoint: Checkpoint,
    run_options: dict[str, Any] | None = None,
    path: Path | None = None,
) -> None:
    """Load the matrix and counters of ``checkpoint`` into ``metric``.

    Raises EvaluationError if the checkpoint was written for another
    configuration or run options, or contains a matrix the metric cannot take.
    The messages name the checkpoint file ``path`` when it is given.
    """
    name = "the checkpoint" if path is None else f"checkpoint {path}"
    current = run_config(metric, run_options or {})
    differences = config_differences(checkpoint.config, current)
    if differences:
        raise EvaluationError(
            f"{name} was written with other options ("
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
        raise EvaluationError(f"{name} is invalid: {error}") from None


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

    An exception during the write, KeyboardInterrupt and SystemExit
    included, removes the temporary file and leaves ``path`` as it was. The
    file gets the permissions of ``tempfile.mkstemp``: read and write for the
    owner only. Raises EvaluationError naming the file when it cannot be
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
        _sync_folder(path.parent)
    except OSError as error:
        raise EvaluationError(f"cannot write {path}: {error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _sync_folder(folder: Path) -> None:
    """Flush the entry that ``os.replace`` changed in ``folder`` to disk.

    Until then, a power failure can undo the replacement. Only POSIX systems
    open folders for fsync, and some file systems reject it, which costs
    only that guarantee.
    """
    if os.name != "posix":
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError as error:
        logger.debug("cannot open folder %s to sync it: %s", folder, error)
        return
    try:
        os.fsync(descriptor)
    except OSError as error:
        logger.debug("cannot sync folder %s: %s", folder, error)
    finally:
        os.close(descriptor)


def load_checkpoint(path: Path) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint`.

    Raises EvaluationError naming the file if it is missing or unreadable,
    not a checkpoint of this version, or lacks a key or has a value of the
    wrong type or range (see :mod:`.checkpoint_schema`).
    """
    document = _read_document(path)
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise EvaluationError(f"{path} is not an onnxiou evaluate checkpoint")
    version = document.get("version")
    if type(version) is not int or version != VERSION:
        raise EvaluationError(
            f"checkpoint {path} has version {version!r}; this onnxiou reads "
            f"version {VERSION}"
        )
    try:
        matrix = check_document(document)
    except InvalidCount as error:
        raise EvaluationError(
            f"checkpoint {path} is invalid: {error}; the command line gives every "
            "pixel the weight 1, so every count must be a non-negative whole number"
        ) from None
    except InvalidCheckpoint as error:
        raise EvaluationError(f"checkpoint {path} is invalid: {error}") from None
    return _checkpoint_from_document(document, matrix)


def _read_document(path: Path) -> Any:
    """Return the JSON value in ``path``, raising EvaluationError naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise EvaluationError(
            f"checkpoint {path} not found; run without --resume to start a new run"
        ) from None
    except OSError as error:
        raise EvaluationError(f"cannot read checkpoint {path}: {error}") from None
    except UnicodeDecodeError as error:
        raise EvaluationError(
            f"checkpoint {path} is invalid: not UTF-8 text ({error})"
        ) from None
    try:
        return json.loads(text)
    except RecursionError:
        raise EvaluationError(
            f"checkpoint {path} is invalid: its JSON is nested too deeply to "
            "parse, and a checkpoint nests at most three levels"
        ) from None
    except (ValueError, OverflowError) as error:
        # ValueError includes json.JSONDecodeError and the limit on the digits
        # of an integer (4300 by default since Python 3.11).
        raise EvaluationError(
            f"checkpoint {path} is invalid: not valid JSON ({error})"
        ) from None


def _checkpoint_from_document(
    document: dict[str, Any], matrix: np.ndarray
) -> Checkpoint:
    """Build the checkpoint of a document that :func:`check_document` accepted."""
    counts: dict[str, dict[str, Any]] = {}
    for key in _PROGRESS_COUNTS:
        kind = float if key == "dropped_by_file" else int
        saved = document.get(key, {})
        counts[key] = {name: kind(count) for name, count in saved.items()}
    return Checkpoint(
        config=dict(document["config"]),
        total_cm=matrix,
        dropped_pixels=float(document["dropped_pixels"]),
        ignored_pixels=float(document["ignored_pixels"]),
        progress=RunProgress(list(document["finished"]), **counts),
    )


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
