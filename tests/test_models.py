"""Tests of the prebuilt graphs in models/, run the way a user of any runtime would.

This module does not import onnxiou: it reads the files and their metadata
with onnx and onnxruntime only, and checks every graph against a numpy
oracle written here (an np.bincount confusion matrix, then
TP / (TP + FP + FN)). Each graph runs in onnxruntime and in onnx's
reference evaluator.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx.reference import ReferenceEvaluator

REPO_ROOT = Path(__file__).resolve().parent.parent
MODELS_DIR = REPO_ROOT / "models"
MANIFEST = json.loads((MODELS_DIR / "manifest.json").read_text())
MODEL_NAMES = sorted(MANIFEST["models"])
KINDS = ("update", "result", "step")
RUNTIMES = ("onnxruntime", "reference")
GUIDE = REPO_ROOT / "docs" / "using-graphs.md"


# -- reading the files ---------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Config:
    """What the oracle needs, read from a file's ``onnxiou.*`` metadata."""

    num_classes: int
    target_class_ids: tuple[int, ...]
    ignore_class: tuple[int, ...]
    threshold: float | None
    state_dtype: np.dtype
    y_true_dtype: np.dtype
    y_pred_dtype: np.dtype
    y_true_rank: int
    y_pred_rank: int


def load(name: str, kind: str) -> onnx.ModelProto:
    return onnx.load(str(MODELS_DIR / name / f"{kind}.onnx"))


def metadata(model: onnx.ModelProto) -> dict[str, str]:
    return {prop.key: prop.value for prop in model.metadata_props}


def declared_input(model: onnx.ModelProto, name: str) -> tuple[np.dtype, int]:
    (value,) = [value for value in model.graph.input if value.name == name]
    tensor = value.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type)
    return dtype, len(tensor.shape.dim)


def read_config(name: str) -> Config:
    model = load(name, "step")
    meta = metadata(model)
    config = json.loads(meta["onnxiou.config"])
    num_classes = int(meta["onnxiou.num_classes"])
    ignore = config.get("ignore_class")
    if ignore is None:
        ignore = []
    elif isinstance(ignore, int):
        ignore = [ignore]
    y_true_dtype, y_true_rank = declared_input(model, "y_true")
    y_pred_dtype, y_pred_rank = declared_input(model, "y_pred")
    return Config(
        num_classes=num_classes,
        target_class_ids=tuple(config.get("target_class_ids", range(num_classes))),
        ignore_class=tuple(ignore),
        threshold=config.get("threshold"),
        state_dtype=np.dtype(meta["onnxiou.state_dtype"]),
        y_true_dtype=y_true_dtype,
        y_pred_dtype=y_pred_dtype,
        y_true_rank=y_true_rank,
        y_pred_rank=y_pred_rank,
    )


class Runner:
    """One graph in one runtime, returning outputs by name."""

    def __init__(self, name: str, kind: str, runtime: str) -> None:
        model = load(name, kind)
        self.output_names = [value.name for value in model.graph.output]
        if runtime == "onnxruntime":
            session = ort.InferenceSession(
                model.SerializeToString(), providers=["CPUExecutionProvider"]
            )
            self._run = session.run
        else:
            self._run = ReferenceEvaluator(model).run

    def __call__(self, **feeds: np.ndarray) -> dict[str, np.ndarray]:
        return dict(zip(self.output_names, self._run(None, feeds), strict=True))


# -- the oracle ----------------------------------------------------------


def decode_pred(config: Config, y_pred: np.ndarray) -> np.ndarray:
    if config.threshold is None:
        return y_pred.astype(np.int64)
    scores = y_pred.astype(np.float32)
    return (scores >= np.float32(config.threshold)).astype(np.int64)


def weight_per_pair(sample_weight: np.ndarray, pairs: int) -> np.ndarray:
    """Spread a 1-D weight of length 1, B or N over N pairs in C order."""
    return np.repeat(sample_weight.astype(np.float64), pairs // sample_weight.size)


def oracle_update(config: Config, y_true, y_pred, sample_weight):
    """Return (batch confusion matrix, dropped weight, ignored weight)."""
    classes = config.num_classes
    true = y_true.reshape(-1).astype(np.int64)
    pred = decode_pred(config, y_pred).reshape(-1)
    weight = weight_per_pair(sample_weight, true.size)
    ignored = np.isin(true, config.ignore_class)
    in_range = (true >= 0) & (true < classes) & (pred >= 0) & (pred < classes)
    counted = in_range & ~ignored
    matrix = np.bincount(
        true[counted] * classes + pred[counted],
        weights=weight[counted],
        minlength=classes * classes,
    ).reshape(classes, classes)
    dropped = weight[~counted & ~ignored].sum()
    return matrix, dropped, weight[ignored].sum()


def oracle_scores(config: Config, matrix: np.ndarray) -> tuple[float, np.ndarray]:
    """Return (mean IoU over present target classes, per-class IoU with NaN)."""
    matrix = matrix.astype(np.float64)
    true_positives = np.diag(matrix)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positives
    per_class = np.full(config.num_classes, np.nan)
    present = denominator > 0
    per_class[present] = true_positives[present] / denominator[present]
    scored = [k for k in config.target_class_ids if present[k]]
    mean = float(np.mean(per_class[scored])) if scored else 0.0
    return mean, per_class


def make_batch(config: Config, rng: np.random.Generator, batch: int = 2):
    """Labels of shape [batch, 5, 7] with out-of-range and ignored ids mixed in."""
    shape = (batch, 5, 7)
    classes = config.num_classes
    y_true = rng.integers(-1, classes + 1, size=shape)
    for class_id in config.ignore_class:
        y_true[rng.random(shape) < 0.1] = class_id
    if config.threshold is None:
        y_pred = rng.integers(-1, classes + 1, size=shape)
    else:
        y_pred = rng.random(shape)
        y_pred[rng.random(shape) < 0.2] = config.threshold  # ties are class 1
    return y_true.astype(config.y_true_dtype), y_pred.astype(config.y_pred_dtype)


def weight_forms(config: Config, rng: np.random.Generator, batch: int, pairs: int):
    """Whole-number weights of length 1, B and N, in the state dtype."""
    dtype = config.state_dtype
    return {
        "every pair": np.ones(1, dtype=dtype),
        "per sample": rng.integers(0, 4, size=batch).astype(dtype),
        "per pair": rng.integers(0, 4, size=pairs).astype(dtype),
    }


def assert_scores(config, outputs, matrix) -> None:
    expected_mean, expected_per_class = oracle_scores(config, matrix)
    assert outputs["result"].dtype == np.float32
    assert outputs["result"].shape == ()
    assert outputs["per_class_iou"].dtype == np.float32
    np.testing.assert_allclose(outputs["result"], expected_mean, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(
        outputs["per_class_iou"], expected_per_class, rtol=1e-6, atol=1e-7
    )


# -- files and metadata --------------------------------------------------


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_manifest_lists_expected_models(name):
    assert set(MODEL_NAMES) == {"binary_foreground", "voc21", "cityscapes19", "ade150"}
    record = MANIFEST["models"][name]
    assert sorted(record["files"]) == sorted(f"{name}/{kind}.onnx" for kind in KINDS)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_file_sha256_matches_manifest(name, kind):
    path = f"{name}/{kind}.onnx"
    digest = hashlib.sha256((MODELS_DIR / path).read_bytes()).hexdigest()
    assert digest == MANIFEST["models"][name]["files"][path]


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_file_passes_full_check(name, kind):
    onnx.checker.check_model(load(name, kind), full_check=True)


@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("kind", KINDS)
def test_metadata_matches_manifest(name, kind):
    record = MANIFEST["models"][name]
    model = load(name, kind)
    meta = metadata(model)
    opsets = {entry.domain: entry.version for entry in model.opset_import}
    assert meta["onnxiou.graph"] == kind
    assert meta["onnxiou.metric"] == record["metric"]
    assert json.loads(meta["onnxiou.config"]) == record["config"]
    assert meta["onnxiou.state_dtype"] == record["state"]["dtype"]
    assert json.loads(meta["onnxiou.state_shape"]) == record["state"]["shape"]
    assert int(meta["onnxiou.num_classes"]) == record["num_classes"]
    assert meta["onnxiou.version"] == MANIFEST["onnxiou_version"]
    assert meta["onnxiou.kernel"] == record["kernel"]
    assert meta.get("onnxiou.provider") == record["provider"]
    assert opsets == {"": record["opset"]}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_inputs_match_manifest(name):
    record = MANIFEST["models"][name]
    config = read_config(name)
    classes = record["num_classes"]
    assert config.y_true_dtype == np.dtype(record["inputs"]["y_true"]["dtype"])
    assert config.y_true_rank == record["inputs"]["y_true"]["rank"]
    assert config.y_pred_dtype == np.dtype(record["inputs"]["y_pred"]["dtype"])
    assert config.y_pred_rank == record["inputs"]["y_pred"]["rank"]
    model = load(name, "update")
    weight_dtype, weight_rank = declared_input(model, "sample_weight")
    state_dims = [
        dim.dim_value
        for value in model.graph.input
        if value.name == "total_cm"
        for dim in value.type.tensor_type.shape.dim
    ]
    assert weight_dtype == config.state_dtype
    assert weight_rank == 1
    assert state_dims == [classes, classes]


def test_binary_foreground_configuration():
    config = read_config("binary_foreground")
    assert config.num_classes == 2
    assert config.target_class_ids == (1,)
    assert config.threshold == 0.5
    assert config.y_pred_dtype == np.float32


@pytest.mark.parametrize(
    "name, classes, ignored",
    [("voc21", 21, (255,)), ("cityscapes19", 19, (255,)), ("ade150", 150, ())],
)
def test_mean_iou_configuration(name, classes, ignored):
    config = read_config(name)
    assert config.num_classes == classes
    assert config.target_class_ids == tuple(range(classes))
    assert config.ignore_class == ignored
    assert config.threshold is None


# -- graphs against the oracle --------------------------------------------


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_update_matches_oracle(name, runtime):
    config = read_config(name)
    update = Runner(name, "update", runtime)
    rng = np.random.default_rng(11)
    y_true, y_pred = make_batch(config, rng)
    classes = config.num_classes
    start = rng.integers(0, 5, size=(classes, classes)).astype(config.state_dtype)
    for form, weight in weight_forms(config, rng, y_true.shape[0], y_true.size).items():
        outputs = update(
            y_true=y_true, y_pred=y_pred, sample_weight=weight, total_cm=start
        )
        matrix, dropped, ignored = oracle_update(config, y_true, y_pred, weight)
        assert outputs["total_cm_out"].dtype == config.state_dtype, form
        np.testing.assert_array_equal(
            outputs["total_cm_out"], start + matrix, err_msg=form
        )
        assert float(outputs["dropped_weight"]) == dropped, form
        assert float(outputs["ignored_weight"]) == ignored, form


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_update_fractional_weights(name, runtime):
    config = read_config(name)
    update = Runner(name, "update", runtime)
    rng = np.random.default_rng(12)
    y_true, y_pred = make_batch(config, rng)
    weight = rng.random(y_true.size).astype(config.state_dtype)
    zero = np.zeros((config.num_classes,) * 2, dtype=config.state_dtype)
    outputs = update(y_true=y_true, y_pred=y_pred, sample_weight=weight, total_cm=zero)
    matrix, dropped, ignored = oracle_update(config, y_true, y_pred, weight)
    np.testing.assert_allclose(outputs["total_cm_out"], matrix, rtol=1e-12)
    np.testing.assert_allclose(outputs["dropped_weight"], dropped, rtol=1e-12)
    np.testing.assert_allclose(outputs["ignored_weight"], ignored, rtol=1e-12)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_result_matches_oracle(name, runtime):
    config = read_config(name)
    result = Runner(name, "result", runtime)
    rng = np.random.default_rng(13)
    classes = config.num_classes
    matrix = rng.integers(0, 6, size=(classes, classes)).astype(config.state_dtype)
    absent = rng.choice(classes, size=max(1, classes // 4), replace=False)
    matrix[absent, :] = 0
    matrix[:, absent] = 0
    assert_scores(config, result(total_cm=matrix), matrix)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_result_of_zero_state(name, runtime):
    config = read_config(name)
    result = Runner(name, "result", runtime)
    zero = np.zeros((config.num_classes,) * 2, dtype=config.state_dtype)
    outputs = result(total_cm=zero)
    assert float(outputs["result"]) == 0.0
    assert np.isnan(outputs["per_class_iou"]).all()


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_step_matches_oracle(name, runtime):
    config = read_config(name)
    step = Runner(name, "step", runtime)
    rng = np.random.default_rng(14)
    y_true, y_pred = make_batch(config, rng)
    weight = rng.integers(1, 4, size=y_true.shape[0]).astype(config.state_dtype)
    zero = np.zeros((config.num_classes,) * 2, dtype=config.state_dtype)
    outputs = step(y_true=y_true, y_pred=y_pred, sample_weight=weight, total_cm=zero)
    matrix, dropped, ignored = oracle_update(config, y_true, y_pred, weight)
    np.testing.assert_array_equal(outputs["total_cm_out"], matrix)
    assert float(outputs["dropped_weight"]) == dropped
    assert float(outputs["ignored_weight"]) == ignored
    assert_scores(config, outputs, matrix)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("name", MODEL_NAMES)
@pytest.mark.parametrize("kind", ("update", "step"))
def test_fed_back_state_equals_one_batch(name, runtime, kind):
    config = read_config(name)
    graph = Runner(name, kind, runtime)
    rng = np.random.default_rng(15)
    batches = [make_batch(config, rng, batch=size) for size in (1, 3, 2)]
    no_weighting = np.ones(1, dtype=config.state_dtype)
    state = np.zeros((config.num_classes,) * 2, dtype=config.state_dtype)
    for y_true, y_pred in batches:
        outputs = graph(
            y_true=y_true, y_pred=y_pred, sample_weight=no_weighting, total_cm=state
        )
        state = outputs["total_cm_out"]
    all_true = np.concatenate([y_true for y_true, _ in batches])
    all_pred = np.concatenate([y_pred for _, y_pred in batches])
    combined = graph(
        y_true=all_true,
        y_pred=all_pred,
        sample_weight=no_weighting,
        total_cm=np.zeros_like(state),
    )
    expected, _, _ = oracle_update(config, all_true, all_pred, no_weighting)
    np.testing.assert_array_equal(state, combined["total_cm_out"])
    np.testing.assert_array_equal(state, expected)
    if kind == "step":
        assert_scores(config, outputs, expected)


def test_binary_threshold_tie_is_foreground():
    config = read_config("binary_foreground")
    update = Runner("binary_foreground", "update", "onnxruntime")
    y_true = np.array([[[1, 1, 0, 0]]], dtype=config.y_true_dtype)
    y_pred = np.array([[[0.5, 0.49, 0.5, 0.2]]], dtype=config.y_pred_dtype)
    outputs = update(
        y_true=y_true,
        y_pred=y_pred,
        sample_weight=np.ones(1, dtype=config.state_dtype),
        total_cm=np.zeros((2, 2), dtype=config.state_dtype),
    )
    # Predicted classes 1, 0, 1, 0: rows are true, columns predicted.
    np.testing.assert_array_equal(outputs["total_cm_out"], [[1, 1], [1, 1]])


# -- the guide's example ---------------------------------------------------


def guide_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(), flags=re.S)
    assert len(blocks) == 1, "expected one python example in the guide"
    return blocks[0]


def test_guide_example_runs(monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)
    namespace: dict = {}
    exec(compile(guide_example(), str(GUIDE), "exec"), namespace)
    total_cm = namespace["total_cm"]
    config = read_config("voc21")
    # Three batches of 2 x 64 x 64 pixels, the first 4 rows of each map void.
    assert total_cm.shape == (21, 21)
    assert total_cm.sum() == 3 * 2 * 60 * 64
    assert float(namespace["outputs"]["ignored_weight"]) == 2 * 4 * 64
    expected_mean, expected_per_class = oracle_scores(config, total_cm)
    assert namespace["mean_iou"] == pytest.approx(expected_mean, rel=1e-6)
    np.testing.assert_allclose(
        namespace["per_class_iou"], expected_per_class, rtol=1e-6
    )
    assert "mIoU" in capsys.readouterr().out


def test_guide_example_needs_no_onnxiou():
    # Importing onnxiou fails in this interpreter, as for a user without it.
    script = "import sys\nsys.modules['onnxiou'] = None\n" + guide_example()
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith("mIoU ")
