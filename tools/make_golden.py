"""Write the golden catalogue in tests/golden/, or check that it is current.

Each case of tools/golden_cases.py becomes a folder ``tests/golden/<id>/``
holding ``update.onnx``, ``result.onnx`` and ``step.onnx`` (written by
``onnxiou.export.export``) and ``case.json``: the metric, its ``get_config()``,
the input batches and the expected numbers. Expected numbers come from the
numpy reference in tools/iou_oracle.py only, never from onnxruntime or the
Python wrapper. ``tests/golden/index.json`` lists the case ids.

In case.json every array is ``{"dtype", "shape", "data"}`` with ``data``
flat in C order. Non-finite input floats are the strings ``"NaN"``,
``"Infinity"`` and ``"-Infinity"``, and a NaN per-class IoU is ``null``.
``sample_weight`` is always 1-D, as the graphs take it.

Usage::

    python tools/make_golden.py           # rewrite tests/golden/
    python tools/make_golden.py --check   # exit 1 if tests/golden/ is stale

The output is deterministic: the same onnxiou, onnx and onnxscript versions
write the same bytes. A new onnxiou version changes the ``onnxiou.version``
metadata of the ONNX files, so the catalogue is rewritten with each release.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import math
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parent
GOLDEN_DIR = REPO_ROOT / "tests" / "golden"

sys.path.insert(0, str(TOOLS_DIR))
sys.path.insert(0, str(REPO_ROOT))

import golden_cases  # noqa: E402
import iou_oracle  # noqa: E402

import onnxiou  # noqa: E402
from onnxiou.export import export  # noqa: E402

# Spelling of non-finite input floats in case.json, which JSON itself lacks.
NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}


# -- JSON ------------------------------------------------------------------


def json_number(value: Any) -> Any:
    """Return a JSON-ready scalar, with non-finite floats as their strings."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    number = float(value)
    if math.isfinite(number):
        return number
    return NON_FINITE[repr(number)]


def array_json(array: np.ndarray) -> dict[str, Any]:
    """Return ``{"dtype", "shape", "data"}`` with ``data`` flat in C order."""
    flat = np.ascontiguousarray(array).reshape(-1)
    if flat.dtype.kind == "f":
        # float32 values widen exactly, so their shortest float64 text
        # reads back to the same float32 value.
        data = [json_number(float(value)) for value in flat.astype(np.float64)]
    else:
        data = [int(value) for value in flat]
    return {"dtype": array.dtype.name, "shape": list(array.shape), "data": data}


def render_json(value: Any, indent: int = 0) -> str:
    """Render JSON with sorted keys, one key per line and scalar lists inline.

    Floats use Python's shortest round-trip ``repr``, so the text is fixed for
    a given value.
    """
    pad = " " * (indent + 1)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            f"{pad}{json.dumps(key)}: {render_json(value[key], indent + 1)}"
            for key in sorted(value)
        ]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    nested = isinstance(value, list) and any(
        isinstance(item, (dict, list)) for item in value
    )
    if nested:
        items = [pad + render_json(item, indent + 1) for item in value]
        return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"
    return json.dumps(value, allow_nan=False)


# -- oracle ----------------------------------------------------------------


def oracle_config(metric: str, config: dict[str, Any]) -> iou_oracle.OracleConfig:
    """Translate a ``get_config()`` dict into the oracle's terms."""
    if metric == "BinaryIoU":
        return iou_oracle.OracleConfig(
            num_classes=2,
            target_class_ids=tuple(config["target_class_ids"]),
            threshold=config["threshold"],
        )
    classes = config["num_classes"]
    if metric in ("MeanIoU", "OneHotMeanIoU"):
        targets = tuple(range(classes))
    else:
        targets = tuple(config["target_class_ids"])
    ignore = config["ignore_class"]
    if ignore is None:
        ignore = ()
    elif isinstance(ignore, int):
        ignore = (ignore,)
    return iou_oracle.OracleConfig(
        num_classes=classes,
        target_class_ids=targets,
        ignore_class=tuple(ignore),
        sparse_y_true=config.get("sparse_y_true", not metric.startswith("OneHot")),
        sparse_y_pred=config["sparse_y_pred"],
        axis=config["axis"],
    )


def check_exact_in_state(total_cm: np.ndarray, state_dtype: str) -> None:
    """Raise unless the state dtype represents every expected count exactly.

    Then the expected matrix does not depend on the order of additions.
    """
    stored = total_cm.astype(state_dtype).astype(np.float64)
    if not np.array_equal(stored, total_cm):
        raise ValueError(
            f"Expected counts exact in {state_dtype}, but the oracle's "
            f"matrix {total_cm.tolist()} is not; choose other weights."
        )


def expected_json(
    result: iou_oracle.OracleResult, state_dtype: str, fractional: bool
) -> dict[str, Any]:
    # Only a float64 matrix from fractional weights is compared to a relative
    # tolerance, so every other matrix must be exact.
    if state_dtype != "float64" or not fractional:
        check_exact_in_state(result.total_cm, state_dtype)
    per_class = [None if math.isnan(v) else float(v) for v in result.per_class_iou]
    return {
        "total_cm": array_json(result.total_cm.astype(state_dtype)),
        "result": result.result,
        "per_class_iou": per_class,
        "dropped_weight": result.dropped_weight,
        "ignored_weight": result.ignored_weight,
    }


def has_fractional_weight(batches: list[golden_cases.Batch]) -> bool:
    weights = np.concatenate([weight.astype(np.float64) for _, _, weight in batches])
    return bool(np.any(weights != np.trunc(weights)))


# -- writing ---------------------------------------------------------------


def case_json(case: golden_cases.GoldenCase, metric: Any) -> dict[str, Any]:
    """Build case.json for ``case``; ``metric`` supplies only its config."""
    config = metric.get_config()
    batches = case.batches()
    for _, _, weight in batches:
        if weight.ndim != 1 or weight.dtype.name != config["state_dtype"]:
            raise ValueError(
                f"Case {case.case_id}: expected 1-D {config['state_dtype']} "
                f"weights, got {weight.dtype} of shape {weight.shape}."
            )
    oracle = iou_oracle.accumulate(oracle_config(case.metric, config), batches)
    state_dtype = config["state_dtype"]
    fractional = has_fractional_weight(batches)
    return {
        "id": case.case_id,
        "description": case.description,
        "metric": case.metric,
        "config": config,
        "state_dtype": state_dtype,
        "num_classes": oracle.total_cm.shape[0],
        "batches": [
            {
                "y_true": array_json(y_true),
                "y_pred": array_json(y_pred),
                "sample_weight": array_json(weight),
            }
            for y_true, y_pred, weight in batches
        ],
        "expected": expected_json(oracle, state_dtype, fractional),
    }


def write_case(case: golden_cases.GoldenCase, directory: Path) -> None:
    metric = onnxiou.METRICS[case.metric](**case.params)
    export(metric, directory, **case.export)
    text = render_json(case_json(case, metric)) + "\n"
    (directory / "case.json").write_text(text, encoding="utf-8")


def write_catalogue(root: Path) -> None:
    """Write every case and index.json into ``root`` (an empty folder)."""
    ids = [case.case_id for case in golden_cases.CASES]
    if len(set(ids)) != len(ids):
        raise ValueError(f"Expected distinct case ids, got {ids}.")
    for case in golden_cases.CASES:
        write_case(case, root / case.case_id)
    index = render_json({"cases": ids}) + "\n"
    (root / "index.json").write_text(index, encoding="utf-8")


# -- checking --------------------------------------------------------------


def stale_files(fresh: Path, current: Path) -> list[str]:
    """Return the relative paths that differ between two catalogue folders."""
    fresh_files = {p.relative_to(fresh) for p in fresh.rglob("*") if p.is_file()}
    current_files = (
        {p.relative_to(current) for p in current.rglob("*") if p.is_file()}
        if current.is_dir()
        else set()
    )
    differing = [
        str(path)
        for path in sorted(fresh_files & current_files)
        if not filecmp.cmp(fresh / path, current / path, shallow=False)
    ]
    missing = [f"{path} (missing)" for path in sorted(fresh_files - current_files)]
    extra = [f"{path} (not generated)" for path in sorted(current_files - fresh_files)]
    return differing + missing + extra


def parse_arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare a fresh catalogue with tests/golden/ and exit 1 if they differ",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=GOLDEN_DIR,
        help="catalogue folder (default: tests/golden/)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(sys.argv[1:] if argv is None else argv)
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Path(scratch) / "golden"
        fresh.mkdir()
        write_catalogue(fresh)
        if arguments.check:
            stale = stale_files(fresh, arguments.out)
            if stale:
                print(f"{arguments.out} is stale; run python tools/make_golden.py:")
                print("\n".join(f"  {path}" for path in stale))
                return 1
            print(f"{arguments.out} is current ({len(golden_cases.CASES)} cases).")
            return 0
        if arguments.out.exists():
            shutil.rmtree(arguments.out)
        shutil.copytree(fresh, arguments.out)
    print(f"wrote {len(golden_cases.CASES)} cases to {arguments.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
