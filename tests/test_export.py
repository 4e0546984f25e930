"""Tests of onnxiou.export: file contents, determinism, opsets and input checks.

Expected numbers come from a numpy oracle in this module: the argmax or
threshold decode, an np.bincount confusion matrix, then
TP / (TP + FP + FN).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

import onnxiou
from onnxiou.export import export, load_metric, read_metadata, to_model

REPO_ROOT = Path(__file__).resolve().parent.parent
MAKE_MODELS = REPO_ROOT / "tools" / "make_models.py"
KINDS = ("update", "result", "step")

# Configurations, each with the constructor and the export arguments.
CONFIGS = {
    "mean_iou_ignore": (
        lambda: onnxiou.MeanIoU(num_classes=5, ignore_class=[255, 0]),
        {},
    ),
    "iou_dense_pred": (
        lambda: onnxiou.IoU(3, [0, 2], sparse_y_pred=False, state_dtype="float32"),
        {"y_pred_dtype": "float16"},
    ),
    "one_hot_iou": (
        lambda: onnxiou.OneHotIoU(num_classes=4, target_class_ids=[1, 3]),
        {},
    ),
    "one_hot_mean_iou_int": (
        lambda: onnxiou.OneHotMeanIoU(num_classes=3, state_dtype="int64"),
        {"y_true_dtype": "uint8", "y_true_rank": 2, "y_pred_rank": 2},
    ),
    "binary_iou": (
        lambda: onnxiou.BinaryIoU(target_class_ids=[0, 1], threshold=0.3),
        {"y_pred_dtype": "float64"},
    ),
    "mean_iou_onehot_matmul": (
        lambda: onnxiou.MeanIoU(num_classes=4, kernel="onehot_matmul"),
        {"y_true_dtype": "int32", "y_pred_dtype": "uint8"},
    ),
}


# -- oracle --------------------------------------------------------------


def decode(values: np.ndarray, sparse: bool, axis: int, threshold) -> np.ndarray:
    if threshold is not None:
        return (values.astype(np.float32) >= np.float32(threshold)).astype(np.int64)
    if sparse:
        return values.astype(np.int64)
    return np.argmax(values.astype(np.float64), axis=axis)


def oracle(config: dict, metric_name: str, y_true, y_pred, weight):
    """Return (confusion matrix, mean IoU, per-class IoU) for one batch."""
    classes = config.get("num_classes", 2)
    axis = config.get("axis", -1)
    sparse_true = metric_name in ("IoU", "MeanIoU", "BinaryIoU") and config.get(
        "sparse_y_true", True
    )
    sparse_pred = config.get("sparse_y_pred", metric_name in ("IoU", "MeanIoU"))
    true = decode(y_true, sparse_true, axis, None).reshape(-1)
    pred = decode(y_pred, sparse_pred, axis, config.get("threshold")).reshape(-1)
    weights = np.repeat(weight.astype(np.float64), true.size // weight.size)
    ignore = config.get("ignore_class")
    ignore = [] if ignore is None else np.atleast_1d(ignore)
    keep = ~np.isin(true, ignore) & (true >= 0) & (true < classes)
    keep &= (pred >= 0) & (pred < classes)
    matrix = np.bincount(
        true[keep] * classes + pred[keep], weights=weights[keep], minlength=classes**2
    ).reshape(classes, classes)
    true_positives = np.diag(matrix)
    denominator = matrix.sum(0) + matrix.sum(1) - true_positives
    per_class = np.full(classes, np.nan)
    present = denominator > 0
    per_class[present] = true_positives[present] / denominator[present]
    targets = config.get("target_class_ids", range(classes))
    scored = [k for k in targets if present[k]]
    mean = float(np.mean(per_class[scored])) if scored else 0.0
    return matrix, mean, per_class


def make_inputs(model: onnx.ModelProto, classes: int, rng: np.random.Generator):
    """Random y_true and y_pred of the model's declared dtypes and ranks.

    Symbolic dims become 2, 3, 4, ... and a dim named ``classes`` becomes
    the number of classes.
    """
    feeds = {}
    for value in model.graph.input[:2]:
        tensor = value.type.tensor_type
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
        dims = [
            classes if dim.dim_param == "classes" else 2 + index
            for index, dim in enumerate(tensor.shape.dim)
        ]
        dense = "classes" in [dim.dim_param for dim in tensor.shape.dim]
        if dense or (value.name == "y_pred" and dtype.kind == "f"):
            array = rng.random(dims) * 4
        else:
            array = rng.integers(-1, classes + 1, size=dims)
        feeds[value.name] = array.astype(dtype)
    return feeds


def run_step(model: onnx.ModelProto, feeds: dict) -> dict:
    session = ort.InferenceSession(model.SerializeToString())
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(None, feeds), strict=True))


def run_step_reference(model: onnx.ModelProto, feeds: dict) -> dict:
    names = [output.name for output in model.graph.output]
    return dict(zip(names, ReferenceEvaluator(model).run(None, feeds), strict=True))


def check_against_oracle(
    metric, model: onnx.ModelProto, seed: int, run=run_step
) -> None:
    config = metric.get_config()
    classes = metric.spec.num_classes
    rng = np.random.default_rng(seed)
    feeds = make_inputs(model, classes, rng)
    state_dtype = np.dtype(metric.spec.state_dtype)
    weight = rng.integers(1, 4, size=feeds["y_true"].shape[0]).astype(state_dtype)
    zero = np.zeros((classes, classes), dtype=state_dtype)
    outputs = run(model, {**feeds, "sample_weight": weight, "total_cm": zero})
    matrix, mean, per_class = oracle(
        config, type(metric).__name__, feeds["y_true"], feeds["y_pred"], weight
    )
    np.testing.assert_array_equal(outputs["total_cm_out"], matrix)
    np.testing.assert_allclose(outputs["result"], mean, rtol=1e-6)
    np.testing.assert_allclose(outputs["per_class_iou"], per_class, rtol=1e-6)


# -- exported files -------------------------------------------------------


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_export_writes_three_checked_files(tmp_path, config_name):
    make, options = CONFIGS[config_name]
    metric = make()
    paths = export(metric, tmp_path, **options)
    assert sorted(paths) == sorted(KINDS)
    for kind, path in paths.items():
        assert path == tmp_path / f"{kind}.onnx"
        model = onnx.load(str(path))
        onnx.checker.check_model(model, full_check=True)
        metadata = read_metadata(model)
        assert metadata["onnxiou.graph"] == kind
        assert metadata["onnxiou.metric"] == type(metric).__name__
        assert json.loads(metadata["onnxiou.config"]) == metric.get_config()


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_export_matches_oracle(tmp_path, config_name):
    make, options = CONFIGS[config_name]
    metric = make()
    path = export(metric, tmp_path, **options)["step"]
    check_against_oracle(metric, onnx.load(str(path)), seed=len(config_name))


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_export_is_deterministic(tmp_path, config_name):
    make, options = CONFIGS[config_name]
    first = export(make(), tmp_path / "first", **options)
    second = export(make(), tmp_path / "second", **options)
    for kind in KINDS:
        assert first[kind].read_bytes() == second[kind].read_bytes(), kind


def test_export_same_bytes_in_fresh_process(tmp_path):
    # Graph building must not depend on what the process built before.
    for name in CONFIGS:
        to_model(CONFIGS[name][0](), "step")
    in_process = export(
        onnxiou.MeanIoU(num_classes=5, ignore_class=255), tmp_path / "in_process"
    )
    code = (
        "import sys, onnxiou\n"
        "from onnxiou.export import export\n"
        "export(onnxiou.MeanIoU(num_classes=5, ignore_class=255), sys.argv[1])\n"
    )
    subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "fresh")], cwd=REPO_ROOT, check=True
    )
    for kind in KINDS:
        fresh = (tmp_path / "fresh" / f"{kind}.onnx").read_bytes()
        assert in_process[kind].read_bytes() == fresh, kind


def test_load_metric_round_trip(tmp_path):
    metric = onnxiou.IoU(4, [1, 3], ignore_class=[255, 7], state_dtype="int64")
    path = export(metric, tmp_path)["update"]
    loaded = load_metric(path)
    assert type(loaded) is onnxiou.IoU
    assert loaded.get_config() == metric.get_config()


def test_read_metadata_rejects_foreign_model():
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    graph = onnx.helper.make_graph(
        [node],
        "identity",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    with pytest.raises(ValueError, match="exported by onnxiou"):
        read_metadata(onnx.helper.make_model(graph))


# -- opsets ---------------------------------------------------------------


@pytest.mark.parametrize("opset", [15, 22])
def test_opset_outside_range_rejected(tmp_path, opset):
    metric = onnxiou.MeanIoU(num_classes=3)
    with pytest.raises(ValueError, match=r"`opset` to be in \[16, 21\]"):
        to_model(metric, "step", opset=opset)
    with pytest.raises(ValueError, match="opset"):
        export(metric, tmp_path / "out", opset=opset)
    assert not (tmp_path / "out").exists()


def test_opset_as_text_rejected():
    with pytest.raises(TypeError, match="`opset`"):
        to_model(onnxiou.MeanIoU(num_classes=3), opset="18")


@pytest.mark.parametrize("opset", range(16, 22))
@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_each_opset_matches_oracle(config_name, opset):
    make, options = CONFIGS[config_name]
    metric = make()
    model = to_model(metric, "step", opset=opset, **options)
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    assert opsets == {"": opset}
    onnx.checker.check_model(model, full_check=True)
    check_against_oracle(metric, model, seed=opset)


# -- input checks ----------------------------------------------------------


@pytest.mark.parametrize(
    "make, options, error, words",
    [
        (
            lambda: onnxiou.MeanIoU(3),
            {"y_true_dtype": "int8"},
            ValueError,
            "`y_true_dtype`",
        ),
        (
            lambda: onnxiou.MeanIoU(3),
            {"y_pred_dtype": "float16"},
            ValueError,
            "`y_pred_dtype`",
        ),
        (
            lambda: onnxiou.OneHotIoU(3, [0]),
            {"y_true_dtype": "bool"},
            ValueError,
            "`y_true_dtype`",
        ),
        (
            lambda: onnxiou.MeanIoU(3),
            {"y_true_rank": -1},
            ValueError,
            "`y_true_rank` to be at least 0",
        ),
        (
            lambda: onnxiou.MeanIoU(3),
            {"y_pred_rank": 2.0},
            TypeError,
            "`y_pred_rank` to be an int",
        ),
        (
            lambda: onnxiou.OneHotMeanIoU(3),
            {"y_true_rank": 0},
            ValueError,
            "class axis -1",
        ),
        (
            lambda: onnxiou.IoU(3, [0], sparse_y_pred=False, axis=2),
            {"y_pred_rank": 2},
            ValueError,
            "class axis 2",
        ),
    ],
)
def test_to_model_rejects_invalid_inputs(make, options, error, words):
    with pytest.raises(error, match=words):
        to_model(make(), "update", **options)


def test_sparse_labels_of_rank_zero_accepted():
    metric = onnxiou.MeanIoU(num_classes=3)
    model = to_model(metric, "step", y_true_rank=0, y_pred_rank=0)
    outputs = run_step(
        model,
        {
            "y_true": np.array(2, dtype=np.int64),
            "y_pred": np.array(2, dtype=np.int64),
            "sample_weight": np.ones(1),
            "total_cm": np.zeros((3, 3)),
        },
    )
    assert outputs["total_cm_out"][2, 2] == 1.0
    assert outputs["total_cm_out"].sum() == 1.0


# -- committed models -------------------------------------------------------


def run_make_models(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(MAKE_MODELS), *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


def test_committed_models_are_current():
    completed = run_make_models("--check")
    assert completed.returncode == 0, completed.stderr


def test_make_models_check_reports_stale_files(tmp_path):
    models = tmp_path / "models"
    shutil.copytree(REPO_ROOT / "models", models)
    changed = models / "voc21" / "result.onnx"
    changed.write_bytes(changed.read_bytes() + b"\0")
    (models / "cityscapes19" / "step.onnx").unlink()
    (models / "extra.onnx").write_bytes(b"")
    completed = run_make_models("--check", "--models-dir", str(models))
    assert completed.returncode == 1
    assert f"out of date: {changed}" in completed.stderr
    assert f"missing: {models / 'cityscapes19' / 'step.onnx'}" in completed.stderr
    assert f"{models / 'extra.onnx'}" in completed.stderr


def test_make_models_rewrites_identical_bytes(tmp_path):
    models = tmp_path / "models"
    completed = run_make_models("--models-dir", str(models))
    assert completed.returncode == 0, completed.stderr
    for path in sorted((REPO_ROOT / "models").rglob("*")):
        if path.is_file():
            relative = path.relative_to(REPO_ROOT / "models")
            assert (models / relative).read_bytes() == path.read_bytes(), relative


# -- onnx's reference evaluator ------------------------------------------------


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_reference_evaluator_matches_oracle(config_name):
    make, options = CONFIGS[config_name]
    metric = make()
    model = to_model(metric, "step", **options)
    check_against_oracle(metric, model, seed=3, run=run_step_reference)


def test_reference_evaluator_keras_example():
    # Keras's documented OneHotIoU example: dense y_true and y_pred, axis -1.
    metric = onnxiou.OneHotIoU(num_classes=3, target_class_ids=[0, 2])
    model = to_model(metric, "step", y_true_rank=2, y_pred_rank=2)
    y_true = np.eye(3, dtype=np.float32)[[2, 0, 1, 0]]
    y_pred = np.array(
        [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]],
        dtype=np.float32,
    )
    feeds = {
        "y_true": y_true,
        "y_pred": y_pred,
        "sample_weight": np.array([0.1, 0.2, 0.3, 0.4]),
        "total_cm": np.zeros((3, 3)),
    }
    outputs = run_step_reference(model, feeds)
    # Class 0 has TP 0 of 0.9 and class 2 has TP 0.1 of 0.7.
    assert outputs["result"] == pytest.approx((0.0 + 0.1 / 0.7) / 2, rel=1e-6)
