"""Provider profiles: each export keeps its nodes on its provider and counts right.

The static part exports every prebuilt configuration (models/), every
golden case (tests/golden/) and a matrix of metrics, dtypes, kernels and
opsets with each profile, and runs `assert_no_fallback` for the profile's
provider. The run part executes every profile's graphs with onnxruntime's
CPU provider and compares them with the numpy reference written below,
which shares no code with onnxiou, and with each other.
"""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import onnxiou
from onnxiou import _session as session_module
from onnxiou import profiles
from onnxiou._session import MetricRunner
from onnxiou.export import export, read_metadata, to_model
from onnxiou.providers import assert_no_fallback, check_model

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
GOLDEN_DIR = REPO_ROOT / "tests" / "golden"
TOOLS_DIR = REPO_ROOT / "tools"

PROVIDER_OF = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}
PROFILES = tuple(PROVIDER_OF)
KINDS = ("update", "result", "step")
SCORE_TOLERANCE = 1e-6
DOUBLE_WARNING = "TensorRT casts DOUBLE to FLOAT"

# The prebuilt configurations of tools/make_models.py, used while models/
# has no manifest.
MODEL_CONFIGS = {
    "binary_foreground": ("BinaryIoU", {"target_class_ids": [1], "threshold": 0.5}),
    "voc21": ("MeanIoU", {"num_classes": 21, "ignore_class": 255}),
    "cityscapes19": ("MeanIoU", {"num_classes": 19, "ignore_class": 255}),
    "ade150": ("MeanIoU", {"num_classes": 150}),
}


# -- numpy reference ---------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Rules:
    """What decides a metric's numbers, written independently of onnxiou."""

    num_classes: int
    targets: tuple[int, ...]
    ignore: tuple[int, ...] = ()
    true_sparse: bool = True
    pred_sparse: bool = True
    axis: int = -1
    threshold: float | None = None


def reference_labels(values: np.ndarray, sparse: bool, axis: int) -> np.ndarray:
    """Class ids: truncated sparse labels (NaN is -1) or numpy's argmax."""
    if not sparse:
        scores = values if values.dtype.kind == "f" else values.astype(np.float32)
        return np.argmax(scores, axis=axis).reshape(-1)
    if values.dtype.kind != "f":
        return values.astype(np.int64).reshape(-1)
    wide = np.nan_to_num(values.astype(np.float64), nan=-1.0, posinf=2.0**62)
    return np.trunc(np.maximum(wide, -(2.0**62))).astype(np.int64).reshape(-1)


def reference_update(rules: Rules, y_true, y_pred, weight) -> tuple:
    """Return one batch's matrix, dropped weight and ignored weight."""
    true = reference_labels(y_true, rules.true_sparse, rules.axis)
    if rules.threshold is not None:
        scores = y_pred.astype(np.float32).reshape(-1)
        pred = (scores >= np.float32(rules.threshold)).astype(np.int64)
    else:
        pred = reference_labels(y_pred, rules.pred_sparse, rules.axis)
    weights = np.repeat(weight.astype(np.float64), true.size // weight.size)
    classes = rules.num_classes
    matrix = np.zeros((classes, classes))
    dropped = ignored = 0.0
    for t, p, w in zip(true.tolist(), pred.tolist(), weights.tolist()):
        if t in rules.ignore:
            ignored += w
        elif 0 <= t < classes and 0 <= p < classes:
            matrix[t, p] += w
        else:
            dropped += w
    return matrix, dropped, ignored


def reference_scores(rules: Rules, matrix: np.ndarray) -> tuple[float, np.ndarray]:
    """Per-class TP / (TP + FP + FN), NaN where 0 / 0, and the target mean."""
    per_class = []
    for k in range(rules.num_classes):
        union = matrix[k, :].sum() + matrix[:, k].sum() - matrix[k, k]
        per_class.append(matrix[k, k] / union if union > 0 else math.nan)
    present = [per_class[k] for k in rules.targets if not math.isnan(per_class[k])]
    result = sum(present) / len(present) if present else 0.0
    return result, np.array(per_class)


# -- configurations run on CPU ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunCase:
    """A metric, its export dtypes and ranks, and batches to feed."""

    make: Callable[..., object]
    rules: Rules
    export: dict
    batches: Callable[[np.random.Generator], list[tuple]]


def _labels(rng, shape, choices, dtype) -> np.ndarray:
    return rng.choice(np.array(choices), size=shape).astype(dtype)


def _with_nan(array: np.ndarray, positions: list[int]) -> np.ndarray:
    array = array.copy()
    array.reshape(-1)[positions] = np.nan
    return array


def _voc_batches(rng, state="float64"):
    choices = [-1, 0, 1, 2, 3, 4, 5, 255]
    shapes = [(2, 3, 4), (1, 5, 5), (3, 0, 2)]
    weights = [np.array([2, 3]), np.array([1]), np.array([4, 1, 2])]
    return [
        (_labels(rng, s, choices, "int64"), _labels(rng, s, choices, "int64"),
         w.astype(state))
        for s, w in zip(shapes, weights)
    ]


def _far_batches(rng):
    choices = [-5000, -2, -1, 0, 1, 2, 3, 4, 70000]
    shape = (2, 4, 5)
    pairs = [
        (_labels(rng, shape, choices, "int64"), _labels(rng, shape, choices, "int32"))
        for _ in range(2)
    ]
    weights = [rng.integers(1, 5, size=40).astype("float32"), np.ones(1, "float32")]
    return [(t, p, w) for (t, p), w in zip(pairs, weights)]


def _binary_batches(rng):
    shape = (2, 6, 3)
    y_true = _labels(rng, shape, [0, 1, 2], "uint8")
    y_pred = _with_nan(rng.random(shape).astype("float32"), [0, 7])
    return [(y_true, y_pred, np.array([3, 1], "int64")), (y_true, y_pred[::-1].copy(),
            np.ones(1, "int64"))]


def _onehot_batches(rng):
    batches = []
    for weight in (np.array([1, 2, 3]), np.ones(1)):
        ids = rng.integers(0, 4, size=(3, 4))
        y_true = np.eye(4, dtype="float32")[ids]
        y_pred = rng.standard_normal((3, 4, 4)).astype("float16")
        y_pred = _with_nan(y_pred, [1, 20])
        batches.append((y_true, y_pred, weight.astype("float64")))
    return batches


def _axis1_batches(rng):
    y_true = rng.integers(-1, 5, size=(2, 3, 3)).astype("float64")
    y_true = _with_nan(y_true, [4])
    y_true.reshape(-1)[5] = 1.7
    y_pred = rng.standard_normal((2, 4, 3, 3))
    y_pred[0, :, 0, 0] = [1.0, 3.0, 3.0, 2.0]
    return [(y_true, y_pred, np.array([2, 5], "int64"))]


RUN_CASES = {
    "voc_ignore_255": RunCase(
        lambda **k: onnxiou.MeanIoU(num_classes=6, ignore_class=255, **k),
        Rules(6, tuple(range(6)), ignore=(255,)),
        {},
        _voc_batches,
    ),
    "far_ignores_float32_state": RunCase(
        lambda **k: onnxiou.IoU(
            num_classes=4, target_class_ids=[1, 3], ignore_class=[-5000, -2, 70000],
            state_dtype="float32", **k
        ),
        Rules(4, (1, 3), ignore=(-5000, -2, 70000)),
        {"y_pred_dtype": "int32"},
        _far_batches,
    ),
    "binary_uint8_int64_state": RunCase(
        lambda **k: onnxiou.BinaryIoU(
            target_class_ids=[0, 1], threshold=0.4, state_dtype="int64", **k
        ),
        Rules(2, (0, 1), threshold=0.4),
        {"y_true_dtype": "uint8"},
        _binary_batches,
    ),
    "onehot_float16_logits": RunCase(
        lambda **k: onnxiou.OneHotMeanIoU(num_classes=4, **k),
        Rules(4, tuple(range(4)), true_sparse=False, pred_sparse=False),
        {"y_pred_dtype": "float16", "y_true_rank": 3, "y_pred_rank": 3},
        _onehot_batches,
    ),
    "float_labels_axis1_int64_state": RunCase(
        lambda **k: onnxiou.MeanIoU(
            num_classes=4, sparse_y_pred=False, axis=1, state_dtype="int64", **k
        ),
        Rules(4, tuple(range(4)), pred_sparse=False, axis=1),
        {"y_true_dtype": "float64", "y_pred_dtype": "float64", "y_pred_rank": 4},
        _axis1_batches,
    ),
}


def run_step(model: onnx.ModelProto, case: RunCase, batches) -> tuple:
    """Feed every batch to a step graph on CPU; return its final numbers."""
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    state_dtype = read_metadata(model)["onnxiou.state_dtype"]
    state = np.zeros((case.rules.num_classes,) * 2, dtype=state_dtype)
    dropped = ignored = 0.0
    names = [
        "total_cm_out", "result", "per_class_iou", "dropped_weight", "ignored_weight"
    ]
    for y_true, y_pred, weight in batches:
        feeds = {"y_true": y_true, "y_pred": y_pred, "sample_weight": weight}
        state, result, per_class, batch_dropped, batch_ignored = session.run(
            names, {**feeds, "total_cm": state}
        )
        dropped += float(batch_dropped)
        ignored += float(batch_ignored)
    return state, float(result), per_class, dropped, ignored


def reference_run(case: RunCase, batches) -> tuple:
    matrix = np.zeros((case.rules.num_classes,) * 2)
    dropped = ignored = 0.0
    for y_true, y_pred, weight in batches:
        batch_matrix, batch_dropped, batch_ignored = reference_update(
            case.rules, y_true, y_pred, weight
        )
        matrix += batch_matrix
        dropped += batch_dropped
        ignored += batch_ignored
    result, per_class = reference_scores(case.rules, matrix)
    return matrix, result, per_class, dropped, ignored


@pytest.mark.parametrize("name", sorted(RUN_CASES))
@pytest.mark.parametrize("kernel", ["auto", "scatter", "onehot_matmul"])
def test_profiles_match_reference_on_cpu(name, kernel):
    case = RUN_CASES[name]
    batches = case.batches(np.random.default_rng(len(name)))
    matrix, result, per_class, dropped, ignored = reference_run(case, batches)
    outputs = {}
    for profile in PROFILES:
        metric = case.make(kernel=kernel)
        model = to_model(metric, "step", provider=profile, **case.export)
        outputs[profile] = run_step(model, case, batches)
        state, got_result, got_per_class, got_dropped, got_ignored = outputs[profile]
        np.testing.assert_array_equal(state.astype(np.float64), matrix)
        assert got_dropped == dropped
        assert got_ignored == ignored
        assert got_result == pytest.approx(result, abs=SCORE_TOLERANCE)
        np.testing.assert_allclose(
            got_per_class.astype(np.float64), per_class, rtol=0, atol=SCORE_TOLERANCE
        )
    cpu_state, cpu_result, cpu_per_class, _, _ = outputs["cpu"]
    for profile in ("cuda", "tensorrt"):
        state, got_result, got_per_class, _, _ = outputs[profile]
        assert state.dtype == cpu_state.dtype
        np.testing.assert_array_equal(state, cpu_state)
        assert got_result == cpu_result
        np.testing.assert_array_equal(got_per_class, cpu_per_class)


@pytest.mark.parametrize("opset", [16, 17, 19, 20, 21])
def test_profiles_match_reference_at_each_opset(opset):
    case = RUN_CASES["far_ignores_float32_state"]
    batches = case.batches(np.random.default_rng(opset))
    matrix, result, _, dropped, ignored = reference_run(case, batches)
    for profile in PROFILES:
        model = to_model(
            case.make(), "step", opset=opset, provider=profile, **case.export
        )
        state, got_result, _, got_dropped, got_ignored = run_step(model, case, batches)
        np.testing.assert_array_equal(state.astype(np.float64), matrix)
        assert (got_dropped, got_ignored) == (dropped, ignored)
        assert got_result == pytest.approx(result, abs=SCORE_TOLERANCE)


def test_profiles_match_reference_with_fractional_weights():
    case = RUN_CASES["voc_ignore_255"]
    rng = np.random.default_rng(7)
    batches = [
        (t, p, rng.random(w.size) + 0.1) for t, p, w in case.batches(rng)
    ]
    matrix, result, per_class, dropped, ignored = reference_run(case, batches)
    for profile in PROFILES:
        model = to_model(case.make(), "step", provider=profile)
        state, got_result, got_per_class, got_dropped, got_ignored = run_step(
            model, case, batches
        )
        np.testing.assert_allclose(state, matrix, rtol=1e-12, atol=0)
        assert got_dropped == pytest.approx(dropped, rel=1e-12)
        assert got_ignored == pytest.approx(ignored, rel=1e-12)
        assert got_result == pytest.approx(result, abs=SCORE_TOLERANCE)
        np.testing.assert_allclose(got_per_class, per_class, atol=SCORE_TOLERANCE)


# -- static check -----------------------------------------------------------


def fallbacks(model: onnx.ModelProto, profile: str) -> None:
    assert_no_fallback(model, PROVIDER_OF[profile])


def model_entries() -> dict[str, tuple[str, dict, dict]]:
    """Each prebuilt configuration: metric, constructor arguments, export options."""
    manifest = MODELS_DIR / "manifest.json"
    if not manifest.is_file():
        return {
            name: (metric, args, {}) for name, (metric, args) in MODEL_CONFIGS.items()
        }
    entries = {}
    for name, record in json.loads(manifest.read_text())["models"].items():
        inputs = record["inputs"]
        options = {
            "opset": record["opset"],
            "y_true_dtype": inputs["y_true"]["dtype"],
            "y_pred_dtype": inputs["y_pred"]["dtype"],
            "y_true_rank": inputs["y_true"]["rank"],
            "y_pred_rank": inputs["y_pred"]["rank"],
        }
        entries[name] = (record["metric"], record["config"], options)
    return entries


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(model_entries()))
def test_prebuilt_models_stay_on_provider(name, profile):
    metric_name, config, options = model_entries()[name]
    metric = onnxiou.METRICS[metric_name](**config)
    for kind in KINDS:
        fallbacks(to_model(metric, kind, provider=profile, **options), profile)


def golden_ids() -> list[str]:
    index = GOLDEN_DIR / "index.json"
    if not index.is_file():
        return []
    return json.loads(index.read_text())["cases"]


def golden_export_options(case_id: str) -> dict:
    """The opset, input dtypes and ranks the committed update graph has."""
    model = onnx.load(str(GOLDEN_DIR / case_id / "update.onnx"))
    inputs = {value.name: value.type.tensor_type for value in model.graph.input}

    def dtype(name: str) -> str:
        return onnx.helper.tensor_dtype_to_np_dtype(inputs[name].elem_type).name

    return {
        "opset": next(o.version for o in model.opset_import if o.domain == ""),
        "y_true_dtype": dtype("y_true"),
        "y_pred_dtype": dtype("y_pred"),
        "y_true_rank": len(inputs["y_true"].shape.dim),
        "y_pred_rank": len(inputs["y_pred"].shape.dim),
    }


@pytest.mark.skipif(
    not golden_ids(), reason="tests/golden/index.json is missing: no golden cases yet"
)
@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("case_id", golden_ids() or ["none"])
def test_golden_cases_stay_on_provider(case_id, profile):
    case = json.loads((GOLDEN_DIR / case_id / "case.json").read_text())
    metric = onnxiou.METRICS[case["metric"]].from_config(case["config"])
    options = golden_export_options(case_id)
    for kind in KINDS:
        fallbacks(to_model(metric, kind, provider=profile, **options), profile)


MATRIX_METRICS = {
    "sparse_far_ignores": lambda **k: onnxiou.MeanIoU(
        num_classes=5, ignore_class=[-3000, 255, 90000], **k
    ),
    "dense_onehot": lambda **k: onnxiou.OneHotIoU(
        num_classes=4, target_class_ids=[0, 2], **k
    ),
    "binary": lambda **k: onnxiou.BinaryIoU(target_class_ids=[1], **k),
}
MATRIX_DTYPES = {
    "sparse_far_ignores": [
        ("int64", "int64"), ("int32", "uint8"), ("uint8", "int32"),
        ("float32", "float64"), ("float64", "float32"),
    ],
    "dense_onehot": [
        ("float32", "float32"), ("float16", "float64"), ("float64", "float16"),
        ("int64", "int32"), ("uint8", "uint8"),
    ],
    "binary": [
        ("int64", "float32"), ("uint8", "float16"), ("float32", "float64"),
        ("int32", "uint8"), ("float64", "int64"),
    ],
}


def assert_clean(model: onnx.ModelProto, profile: str) -> None:
    """No fallback; on CUDA no finding at all, on TensorRT only DOUBLE casts."""
    findings = check_model(model, PROVIDER_OF[profile])
    assert [f for f in findings if f.severity == "fallback"] == []
    if profile == "cuda":
        assert findings == []
    if profile == "tensorrt":
        assert [f for f in findings if DOUBLE_WARNING not in f.reason] == []


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(MATRIX_METRICS))
def test_kernels_states_opsets_stay_on_provider(name, profile):
    for kernel in ("scatter", "onehot_matmul"):
        for state_dtype in ("float64", "int64", "float32"):
            metric = MATRIX_METRICS[name](kernel=kernel, state_dtype=state_dtype)
            for opset in (16, 21):
                model = to_model(metric, "update", opset=opset, provider=profile)
                assert_clean(model, profile)


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("name", sorted(MATRIX_METRICS))
def test_input_dtypes_stay_on_provider(name, profile):
    metric = MATRIX_METRICS[name]()
    for y_true_dtype, y_pred_dtype in MATRIX_DTYPES[name]:
        model = to_model(
            metric,
            "step",
            provider=profile,
            y_true_dtype=y_true_dtype,
            y_pred_dtype=y_pred_dtype,
        )
        assert_clean(model, profile)


# -- export options and metadata -------------------------------------------


@pytest.mark.parametrize(
    ("profile", "state_dtype", "summed", "kept", "kernel"),
    [
        ("cpu", "float64", "float64", "float64", "scatter"),
        ("cpu", "int64", "int64", "int64", "scatter"),
        ("cpu", "float32", "float32", "float32", "scatter"),
        ("cuda", "float64", "float64", "float64", "scatter"),
        ("cuda", "int64", "float64", "int64", "scatter"),
        ("cuda", "float32", "float32", "float32", "scatter"),
        ("tensorrt", "float64", "float64", "float32", "onehot_matmul"),
        ("tensorrt", "int64", "float32", "int64", "onehot_matmul"),
        ("tensorrt", "float32", "float32", "float32", "onehot_matmul"),
    ],
)
def test_metadata_records_profile(profile, state_dtype, summed, kept, kernel):
    metric = onnxiou.MeanIoU(num_classes=3, state_dtype=state_dtype)
    metadata = read_metadata(to_model(metric, "update", provider=profile))
    assert metadata["onnxiou.provider"] == profile
    assert metadata["onnxiou.accumulate_dtype"] == summed
    assert metadata["onnxiou.provider_state_dtype"] == kept
    assert metadata["onnxiou.kernel"] == kernel


def test_tensorrt_doc_states_float32_state():
    metric = onnxiou.MeanIoU(num_classes=3)
    doc = to_model(metric, "update", provider="tensorrt").graph.doc_string
    assert "computes float64 values in float32" in doc
    assert str(2**24) in doc


def test_explicit_kernel_survives_profile():
    metric = onnxiou.MeanIoU(num_classes=3, kernel="scatter")
    metadata = read_metadata(to_model(metric, "update", provider="tensorrt"))
    assert metadata["onnxiou.kernel"] == "scatter"


def test_provider_name_selects_profile():
    metric = onnxiou.MeanIoU(num_classes=3)
    model = to_model(metric, "update", provider="CUDAExecutionProvider")
    assert read_metadata(model)["onnxiou.provider"] == "cuda"


def test_export_defaults_to_metric_profile():
    metric = onnxiou.MeanIoU(num_classes=3, providers=[("CPUExecutionProvider", {})])
    assert metric.profile == "cpu"
    assert read_metadata(to_model(metric, "update"))["onnxiou.provider"] == "cpu"


def test_export_rejects_unknown_provider(tmp_path):
    metric = onnxiou.MeanIoU(num_classes=3)
    with pytest.raises(ValueError, match="`provider`.*'gpu'"):
        export(metric, tmp_path / "out", provider="gpu")
    assert not (tmp_path / "out").exists()


def test_export_rejects_non_string_provider():
    with pytest.raises(TypeError, match="`provider`"):
        to_model(onnxiou.MeanIoU(num_classes=3), "update", provider=3)


def test_export_writes_profile_files(tmp_path):
    paths = export(onnxiou.MeanIoU(num_classes=3), tmp_path, provider="tensorrt")
    for kind in KINDS:
        assert read_metadata(paths[kind])["onnxiou.provider"] == "tensorrt"


@pytest.mark.parametrize(("opset", "ir_version"), [(16, 8), (18, 8), (19, 9), (21, 10)])
def test_ir_version_is_lowest_for_opset(opset, ir_version):
    model = to_model(onnxiou.MeanIoU(num_classes=3), "update", opset=opset)
    assert model.ir_version == ir_version


# -- profile resolution -----------------------------------------------------


@pytest.mark.parametrize(
    ("providers", "profile", "kernel"),
    [
        (None, "cpu", "scatter"),
        (["CPUExecutionProvider"], "cpu", "scatter"),
        (["CUDAExecutionProvider", "CPUExecutionProvider"], "cuda", "scatter"),
        ([("TensorrtExecutionProvider", {}), "CUDAExecutionProvider"], "tensorrt",
         "onehot_matmul"),
        (["DmlExecutionProvider", "CPUExecutionProvider"], "cpu", "onehot_matmul"),
    ],
)
def test_first_provider_picks_profile(providers, profile, kernel):
    assert profiles.profile_for_providers(providers) == profile
    assert profiles.resolve_kernel("auto", providers) == kernel
    assert profiles.resolve_kernel("scatter", providers) == "scatter"


def test_exact_count_limits():
    assert profiles.exact_count_limit("float32") == 16_777_216
    assert profiles.exact_count_limit("float64") == 9_007_199_254_740_992


# -- the wrapper's CPU path -------------------------------------------------


def _runner_batch():
    y_true = np.array([[0, 1, 2, 2, 7]], dtype=np.int64)
    y_pred = np.array([[0, 2, 2, 1, 1]], dtype=np.int64)
    return y_true, y_pred, np.array([2.0])


def test_runner_builds_graphs_for_first_provider(monkeypatch):
    built = []
    original = session_module._session

    def recording(spec, kind, options, providers):
        built.append((kind, options.provider))
        return original(spec, kind, options, providers)

    monkeypatch.setattr(session_module, "_session", recording)
    spec = onnxiou.MeanIoU(num_classes=3).spec
    runner = MetricRunner(spec, "scatter", [("CPUExecutionProvider", {})])
    assert runner.profile == "cpu"
    runner.update(*_runner_batch())
    runner.scores()
    assert built == [("update", "cpu"), ("result", "cpu")]


def test_runner_keeps_state_on_cpu():
    spec = onnxiou.MeanIoU(num_classes=3).spec
    runner = MetricRunner(spec, "scatter", ["CPUExecutionProvider"])
    dropped, ignored = runner.update(*_runner_batch())
    # Pairs (0,0), (1,2), (2,2), (2,1) count 2 each; label 7 is dropped.
    expected = np.array([[2.0, 0, 0], [0, 0, 2.0], [0, 2.0, 2.0]])
    np.testing.assert_array_equal(runner.state(), expected)
    assert (dropped, ignored) == (2.0, 0.0)
    assert runner._state.device_name() == "cpu"
    result, per_class = runner.scores()
    # IoU: class 0 = 2/2, class 1 = 0/4, class 2 = 2/6.
    np.testing.assert_allclose(per_class, [1.0, 0.0, 1 / 3], rtol=1e-6)
    assert float(result) == pytest.approx((1.0 + 0.0 + 1 / 3) / 3, abs=1e-6)


def test_runner_failed_update_keeps_state():
    spec = onnxiou.MeanIoU(num_classes=3).spec
    runner = MetricRunner(spec, "scatter", ["CPUExecutionProvider"])
    runner.update(*_runner_batch())
    before = runner.state().copy()
    y_true = np.zeros((1, 4), dtype=np.int64)
    y_pred = np.zeros((1, 5), dtype=np.int64)
    with pytest.raises(Exception):  # noqa: B017 - onnxruntime's error type varies
        runner.update(y_true, y_pred, np.ones(1))
    np.testing.assert_array_equal(runner.state(), before)
    runner.reset()
    np.testing.assert_array_equal(runner.state(), np.zeros((3, 3)))


# -- tools ------------------------------------------------------------------


def run_tool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, check=False
    )


def test_replay_script_passes_models():
    folders = [str(path.parent) for path in sorted(MODELS_DIR.glob("*/update.onnx"))]
    if not folders:
        pytest.skip("models/ has no graphs yet")
    completed = run_tool(str(TOOLS_DIR / "replay_graphs.py"), *folders)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("PASS") == len(folders)


@pytest.mark.skipif(not golden_ids(), reason="tests/golden/index.json is missing")
def test_replay_script_passes_golden_profile_exports(tmp_path):
    case_ids = golden_ids()[:4]
    folders = []
    for case_id in case_ids:
        case = json.loads((GOLDEN_DIR / case_id / "case.json").read_text())
        metric = onnxiou.METRICS[case["metric"]].from_config(case["config"])
        target = tmp_path / case_id
        export(metric, target, provider="tensorrt", **golden_export_options(case_id))
        shutil.copy(GOLDEN_DIR / case_id / "case.json", target / "case.json")
        folders.append(str(target))
    completed = run_tool(str(TOOLS_DIR / "replay_graphs.py"), *folders)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert completed.stdout.count("PASS") == len(folders)


@pytest.mark.skipif(not golden_ids(), reason="tests/golden/index.json is missing")
def test_replay_script_reports_wrong_numbers(tmp_path):
    case_id = golden_ids()[0]
    target = tmp_path / case_id
    shutil.copytree(GOLDEN_DIR / case_id, target)
    case = json.loads((target / "case.json").read_text())
    case["expected"]["dropped_weight"] += 1.0
    (target / "case.json").write_text(json.dumps(case))
    completed = run_tool(str(TOOLS_DIR / "replay_graphs.py"), str(target))
    assert completed.returncode == 1
    assert f"FAIL {case_id}: step: dropped_weight" in completed.stdout


@pytest.mark.skipif(
    "CUDAExecutionProvider" in ort.get_available_providers(),
    reason="this onnxruntime has a CUDA provider",
)
def test_gpu_check_reports_missing_cuda():
    completed = run_tool(str(TOOLS_DIR / "gpu_check.py"))
    assert completed.returncode == 3, completed.stdout + completed.stderr
    assert completed.stdout.startswith("no CUDA provider")
    assert "Traceback" not in completed.stderr


def test_old_runtimes_tool_imports():
    completed = run_tool(str(TOOLS_DIR / "old_runtimes.py"), "--help")
    assert completed.returncode == 0, completed.stderr
    assert "--versions" in completed.stdout
