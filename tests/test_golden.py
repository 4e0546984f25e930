"""Replay the golden catalogue (tests/golden/) through every Python runtime.

Expected numbers in each case.json come from the numpy reference in
tools/iou_oracle.py. Each case runs through the Python wrapper, through
plain onnxruntime on step.onnx and on update.onnx + result.onnx, and through
onnx's ReferenceEvaluator. Counts must match exactly, or to 1e-9 relative
when a weight is fractional; scores must match within 1e-6.
"""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import onnxiou
from onnxiou.export import read_metadata

REPO_ROOT = Path(__file__).resolve().parent.parent
GOLDEN_DIR = REPO_ROOT / "tests" / "golden"
SCORE_TOLERANCE = 1e-6
FRACTIONAL_COUNT_TOLERANCE = 1e-9
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def case_ids() -> list[str]:
    return json.loads((GOLDEN_DIR / "index.json").read_text())["cases"]


def load_case(case_id: str) -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / case_id / "case.json").read_text())


def to_array(entry: dict[str, Any]) -> np.ndarray:
    data = [NON_FINITE.get(value, value) for value in entry["data"]]
    return np.array(data, dtype=entry["dtype"]).reshape(entry["shape"])


def batches(case: dict[str, Any]) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    return [
        (to_array(b["y_true"]), to_array(b["y_pred"]), to_array(b["sample_weight"]))
        for b in case["batches"]
    ]


def has_fractional_weight(case: dict[str, Any]) -> bool:
    return any(
        value != math.trunc(value)
        for batch in case["batches"]
        for value in batch["sample_weight"]["data"]
    )


def assert_matches(
    case: dict[str, Any],
    total_cm: np.ndarray,
    result: float,
    per_class_iou: np.ndarray,
    dropped: float,
    ignored: float,
) -> None:
    """Compare one runtime's final numbers with the case's expected ones."""
    expected = case["expected"]
    expected_cm = to_array(expected["total_cm"])
    assert total_cm.dtype == expected_cm.dtype
    assert total_cm.shape == expected_cm.shape
    if has_fractional_weight(case):
        relative = FRACTIONAL_COUNT_TOLERANCE
        np.testing.assert_allclose(total_cm, expected_cm, rtol=relative, atol=0)
        assert dropped == pytest.approx(expected["dropped_weight"], rel=relative)
        assert ignored == pytest.approx(expected["ignored_weight"], rel=relative)
    else:
        np.testing.assert_array_equal(total_cm, expected_cm)
        assert dropped == expected["dropped_weight"]
        assert ignored == expected["ignored_weight"]
    assert float(result) == pytest.approx(expected["result"], abs=SCORE_TOLERANCE)
    expected_iou = np.array(
        [math.nan if v is None else v for v in expected["per_class_iou"]]
    )
    assert per_class_iou.dtype == np.float32
    np.testing.assert_allclose(
        per_class_iou.astype(np.float64), expected_iou, rtol=0, atol=SCORE_TOLERANCE
    )


def decoded_label_shape(case: dict[str, Any], y_pred: np.ndarray) -> tuple[int, ...]:
    """Shape of the predicted labels after the argmax of dense scores."""
    config = case["config"]
    if case["metric"] == "BinaryIoU" or config["sparse_y_pred"]:
        return y_pred.shape
    shape = list(y_pred.shape)
    del shape[config["axis"]]
    return tuple(shape)


def wrapper_weight(case: dict[str, Any], y_pred: np.ndarray, weight: np.ndarray):
    """Return the weight in a form the wrapper takes.

    Lengths 1 and B pass as they are. A per-pair weight is reshaped to the
    labels' shape, because the wrapper broadcasts a flat length-N weight
    against the last axis only.
    """
    shape = decoded_label_shape(case, y_pred)
    if weight.size == math.prod(shape) and weight.size not in (1, shape[0]):
        return weight.reshape(shape)
    return weight


def run_graph(run, names: list[str], feeds: dict[str, np.ndarray]) -> dict:
    return dict(zip(names, run(names, feeds)))


def replay_step(case: dict[str, Any], run, output_names: list[str]):
    """Feed every batch to a step graph and return its final outputs and sums."""
    state = np.zeros([case["num_classes"]] * 2, dtype=case["state_dtype"])
    dropped = ignored = 0.0
    outputs: dict[str, np.ndarray] = {}
    for y_true, y_pred, weight in batches(case):
        feeds = {"y_true": y_true, "y_pred": y_pred, "sample_weight": weight}
        outputs = run_graph(run, output_names, {**feeds, "total_cm": state})
        state = outputs["total_cm_out"]
        dropped += float(outputs["dropped_weight"])
        ignored += float(outputs["ignored_weight"])
    return state, outputs["result"], outputs["per_class_iou"], dropped, ignored


def replay_update_result(case: dict[str, Any], run_update, run_result):
    state = np.zeros([case["num_classes"]] * 2, dtype=case["state_dtype"])
    dropped = ignored = 0.0
    update_names = ["total_cm_out", "dropped_weight", "ignored_weight"]
    for y_true, y_pred, weight in batches(case):
        feeds = {"y_true": y_true, "y_pred": y_pred, "sample_weight": weight}
        outputs = run_graph(run_update, update_names, {**feeds, "total_cm": state})
        state = outputs["total_cm_out"]
        dropped += float(outputs["dropped_weight"])
        ignored += float(outputs["ignored_weight"])
    scores = run_graph(run_result, ["result", "per_class_iou"], {"total_cm": state})
    return state, scores["result"], scores["per_class_iou"], dropped, ignored


STEP_OUTPUTS = [
    "total_cm_out",
    "result",
    "per_class_iou",
    "dropped_weight",
    "ignored_weight",
]


def ort_runner(path: Path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run


def reference_runner(path: Path):
    return ReferenceEvaluator(onnx.load(str(path))).run


@pytest.fixture(params=case_ids())
def case(request) -> dict[str, Any]:
    return load_case(request.param)


def test_catalogue_is_current():
    completed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tools" / "make_golden.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


def test_catalogue_covers_every_metric():
    metrics = {load_case(case_id)["metric"] for case_id in case_ids()}
    assert metrics == set(onnxiou.METRICS)


def test_oracle_imports_no_onnxiou():
    source = (REPO_ROOT / "tools" / "iou_oracle.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module or "")
    assert imported, "found no import statement"
    assert not any(name.split(".")[0] == "onnxiou" for name in imported), imported


def test_keras_example_hand_value():
    expected = load_case("onehotiou_keras_example")["expected"]
    assert expected["result"] == pytest.approx((0 / 0.9 + 0.1 / 0.7) / 2, abs=1e-12)


def test_metadata_matches_case(case):
    for kind in ("update", "result", "step"):
        metadata = read_metadata(GOLDEN_DIR / case["id"] / f"{kind}.onnx")
        assert metadata["onnxiou.graph"] == kind
        assert metadata["onnxiou.metric"] == case["metric"]
        assert json.loads(metadata["onnxiou.config"]) == case["config"]
        assert metadata["onnxiou.state_dtype"] == case["state_dtype"]
        assert int(metadata["onnxiou.num_classes"]) == case["num_classes"]


@pytest.mark.filterwarnings("ignore:.*truncates them to class ids:UserWarning")
def test_wrapper_replay(case):
    metric = onnxiou.METRICS[case["metric"]].from_config(case["config"])
    for y_true, y_pred, weight in batches(case):
        metric.update_state(y_true, y_pred, wrapper_weight(case, y_pred, weight))
    assert_matches(
        case,
        metric.total_cm,
        metric.result(),
        metric.per_class_iou(),
        metric.dropped_weight,
        metric.ignored_weight,
    )


def test_onnxruntime_step_replay(case):
    run = ort_runner(GOLDEN_DIR / case["id"] / "step.onnx")
    assert_matches(case, *replay_step(case, run, STEP_OUTPUTS))


def test_onnxruntime_update_result_replay(case):
    folder = GOLDEN_DIR / case["id"]
    run_update = ort_runner(folder / "update.onnx")
    run_result = ort_runner(folder / "result.onnx")
    assert_matches(case, *replay_update_result(case, run_update, run_result))


def test_reference_evaluator_step_replay(case):
    run = reference_runner(GOLDEN_DIR / case["id"] / "step.onnx")
    assert_matches(case, *replay_step(case, run, STEP_OUTPUTS))


def test_reference_evaluator_update_result_replay(case):
    folder = GOLDEN_DIR / case["id"]
    run_update = reference_runner(folder / "update.onnx")
    run_result = reference_runner(folder / "result.onnx")
    assert_matches(case, *replay_update_result(case, run_update, run_result))
