"""The report of a finished run: a JSON document and a table for the terminal."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.options import Metric
from onnxiou.evaluation.pairing import Pair
from onnxiou.evaluation.progress import RunProgress


def build_report(
    metric: Metric,
    pairs: Sequence[Pair],
    progress: RunProgress,
    class_names: Sequence[str] | None,
) -> dict[str, Any]:
    """Return the full report of ``metric`` after the files in ``progress``.

    Pixel counts are written as integers. They are whole numbers because
    the command line gives every pixel the weight 1. IoU values that are NaN
    (the class occurs in neither labels nor predictions) become None, which
    JSON writes as null.
    """
    matrix = metric.total_cm
    per_class = metric.per_class_iou()
    targets = set(metric.spec.target_class_ids)
    finished = [pair for pair in pairs if progress.is_finished(pair.stem)]
    return {
        "metric": type(metric).__name__,
        "result": float(metric.result()),
        "config": metric.get_config(),
        "num_files": len(finished),
        "scored_pixels": _count(matrix.sum()),
        "ignored_pixels": _count(metric.ignored_weight),
        "dropped_pixels": _count(metric.dropped_weight),
        "per_class": [
            _class_entry(index, matrix, per_class, targets, class_names)
            for index in range(matrix.shape[0])
        ],
        "confusion_matrix": [[_count(value) for value in row] for row in matrix],
        "files": [_file_entry(pair, progress) for pair in finished],
    }


def _count(value: Any) -> int | float:
    number = float(value)
    return int(number) if number.is_integer() else number


def _class_entry(
    index: int,
    matrix: np.ndarray,
    per_class: np.ndarray,
    targets: set[int],
    class_names: Sequence[str] | None,
) -> dict[str, Any]:
    iou = float(per_class[index])
    present = not math.isnan(iou)
    return {
        "class_id": index,
        "name": class_names[index] if class_names else None,
        "iou": iou if present else None,
        "support": _count(matrix[index, :].sum()),
        "predicted": _count(matrix[:, index].sum()),
        "present": present,
        "target": index in targets,
    }


def _file_entry(pair: Pair, progress: RunProgress) -> dict[str, Any]:
    return {
        "stem": pair.stem,
        "label": str(pair.label),
        "prediction": str(pair.prediction),
        "dropped_pixels": _count(progress.dropped_by_file.get(pair.stem, 0)),
    }


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` to ``path`` as indented JSON."""
    try:
        with open(path, "w", encoding="utf-8") as stream:
            json.dump(report, stream, indent=2, allow_nan=False)
            stream.write("\n")
    except OSError as error:
        raise EvaluationError(f"cannot write the report to {path}: {error}") from None


def format_table(report: dict[str, Any]) -> str:
    """Return the per-class table, the pixel counts and the metric value as text."""
    entries = report["per_class"]
    show_targets = not all(entry["target"] for entry in entries)
    columns = ["id", "name", "IoU", "support", "present"]
    if show_targets:
        columns.append("target")
    rows = [columns] + [_table_row(entry, show_targets) for entry in entries]
    widths = [max(len(row[index]) for row in rows) for index in range(len(columns))]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(width)
            if column in ("name", "present", "target")
            else cell.rjust(width)
            for column, cell, width in zip(columns, row, widths, strict=True)
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines.append(_pixel_line(report))
    lines.append(_result_line(report))
    return "\n".join(lines)


def _table_row(entry: dict[str, Any], show_targets: bool) -> list[str]:
    row = [
        str(entry["class_id"]),
        entry["name"] or "",
        "-" if entry["iou"] is None else f"{entry['iou']:.4f}",
        str(entry["support"]),
        "yes" if entry["present"] else "no",
    ]
    if show_targets:
        row.append("yes" if entry["target"] else "no")
    return row


def _pixel_line(report: dict[str, Any]) -> str:
    classes = len(report["per_class"])
    return (
        f"files: {report['num_files']}  pixels: {report['scored_pixels']} scored, "
        f"{report['ignored_pixels']} ignored, {report['dropped_pixels']} dropped "
        f"(label or predicted class outside [0, {classes}))"
    )


def _result_line(report: dict[str, Any]) -> str:
    targets = [entry for entry in report["per_class"] if entry["target"]]
    present = sum(entry["present"] for entry in targets)
    if len(targets) == len(report["per_class"]):
        scope = f"mean over the {present} of {len(targets)} classes"
    else:
        ids = ", ".join(str(entry["class_id"]) for entry in targets)
        scope = f"mean over the {present} of the target classes [{ids}]"
    scope += " that occur in labels or predictions"
    return f"{report['metric']}: {report['result']:.4f} ({scope})"
