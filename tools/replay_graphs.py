"""Replay exported onnxiou graphs in onnxruntime and compare with expected numbers.

This script needs only numpy and onnxruntime, so it also runs in a
virtual environment with an old onnxruntime (tools/old_runtimes.py) and on
a GPU machine (tools/gpu_check.py). Each argument is a case folder holding
``update.onnx``, ``result.onnx`` and ``step.onnx``:

* with a ``case.json`` (the golden catalogue's format, tests/golden/), its
  batches and expected numbers are used;
* without one, batches are generated from the graphs' metadata and input
  types, and the expected numbers come from the numpy reference below.

Each case runs twice: through ``step.onnx``, and through ``update.onnx``
then ``result.onnx``. Counts must match exactly, or to ``--count-rtol``
when a weight is fractional; scores must match within 1e-6.

Usage::

    python tools/replay_graphs.py tests/golden/*/ [--providers CPUExecutionProvider]
    python tools/replay_graphs.py models/voc21 --json

Prints one line per case, ``PASS`` or ``FAIL`` with the reason, or one
JSON object per case with ``--json``. Exits with 1 when a case fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

SCORE_TOLERANCE = 1e-6
FRACTIONAL_COUNT_RTOL = 1e-9
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
STEP_OUTPUTS = [
    "total_cm_out",
    "result",
    "per_class_iou",
    "dropped_weight",
    "ignored_weight",
]
UPDATE_OUTPUTS = ["total_cm_out", "dropped_weight", "ignored_weight"]
# onnxruntime type strings of the graph inputs, as numpy dtypes.
ORT_DTYPES = {
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(uint8)": "uint8",
    "tensor(float)": "float32",
    "tensor(float16)": "float16",
    "tensor(double)": "float64",
}
# Float labels are clipped into this range before the cast to int64.
FLOAT_LABEL_LIMIT = 2.0**62

Batch = tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclasses.dataclass
class Expected:
    """The final numbers after every batch of a case."""

    total_cm: np.ndarray
    result: float
    per_class_iou: np.ndarray
    dropped_weight: float
    ignored_weight: float


@dataclasses.dataclass
class Case:
    """A folder of graphs with its batches and expected numbers."""

    name: str
    folder: Path
    state_dtype: str
    num_classes: int
    batches: list[Batch]
    expected: Expected
    fractional: bool
    source: str


# -- reading case.json -----------------------------------------------------


def json_array(entry: dict[str, Any]) -> np.ndarray:
    data = [NON_FINITE.get(value, value) for value in entry["data"]]
    return np.array(data, dtype=entry["dtype"]).reshape(entry["shape"])


def golden_case(folder: Path) -> Case:
    case = json.loads((folder / "case.json").read_text(encoding="utf-8"))
    batches = [
        (
            json_array(batch["y_true"]),
            json_array(batch["y_pred"]),
            json_array(batch["sample_weight"]),
        )
        for batch in case["batches"]
    ]
    expected = case["expected"]
    per_class = [math.nan if v is None else v for v in expected["per_class_iou"]]
    return Case(
        name=case["id"],
        folder=folder,
        state_dtype=case["state_dtype"],
        num_classes=case["num_classes"],
        batches=batches,
        expected=Expected(
            json_array(expected["total_cm"]),
            expected["result"],
            np.array(per_class, dtype=np.float64),
            expected["dropped_weight"],
            expected["ignored_weight"],
        ),
        fractional=has_fractional_weight(batches),
        source="case.json",
    )


def has_fractional_weight(batches: list[Batch]) -> bool:
    weights = [np.asarray(w, dtype=np.float64) for _, _, w in batches]
    return any(bool(np.any(w != np.trunc(w))) for w in weights)


# -- generated cases -------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Semantics:
    """The configuration entries that decide a metric's numbers."""

    num_classes: int
    target_class_ids: tuple[int, ...]
    ignore_class: tuple[int, ...]
    sparse_y_true: bool
    sparse_y_pred: bool
    axis: int
    threshold: float | None


def semantics(metric: str, config: dict[str, Any]) -> Semantics:
    """Read the numbers-deciding entries of a ``get_config()`` dict."""
    if metric == "BinaryIoU":
        targets = tuple(config["target_class_ids"])
        return Semantics(2, targets, (), True, True, -1, float(config["threshold"]))
    classes = int(config["num_classes"])
    ignore = config.get("ignore_class")
    if ignore is None:
        ignore = ()
    elif isinstance(ignore, int):
        ignore = (ignore,)
    if metric in ("MeanIoU", "OneHotMeanIoU"):
        targets = tuple(range(classes))
    else:
        targets = tuple(config["target_class_ids"])
    return Semantics(
        num_classes=classes,
        target_class_ids=targets,
        ignore_class=tuple(ignore),
        sparse_y_true=config.get("sparse_y_true", not metric.startswith("OneHot")),
        sparse_y_pred=bool(config["sparse_y_pred"]),
        axis=int(config["axis"]),
        threshold=None,
    )


def input_spec(session: ort.InferenceSession) -> dict[str, tuple[str, int]]:
    """Map each graph input name to its numpy dtype and rank."""
    return {
        value.name: (ORT_DTYPES[value.type], len(value.shape))
        for value in session.get_inputs()
    }


def label_choices(rules: Semantics) -> list[int]:
    """Class ids, the two nearest out-of-range ids and the ignored ids."""
    return list(range(-1, rules.num_classes + 1)) + list(rules.ignore_class)


def sparse_input(
    rng: np.random.Generator, rules: Semantics, shape: tuple, dtype: str
) -> np.ndarray:
    choices = [c for c in label_choices(rules) if _fits(c, dtype)]
    return rng.choice(np.array(choices), size=shape).astype(dtype)


def _fits(value: int, dtype: str) -> bool:
    if np.dtype(dtype).kind == "f":
        return True
    info = np.iinfo(dtype)
    return info.min <= value <= info.max


def dense_input(
    rng: np.random.Generator, rules: Semantics, shape: tuple, dtype: str
) -> np.ndarray:
    """Scores with the class axis inserted at ``rules.axis``."""
    full = list(shape)
    axis = rules.axis if rules.axis >= 0 else len(shape) + 1 + rules.axis
    full.insert(axis, rules.num_classes)
    if np.dtype(dtype).kind == "f":
        return rng.standard_normal(full).astype(dtype)
    return rng.integers(0, 3, size=full).astype(dtype)


def generated_batches(folder: Path, rules: Semantics, inputs: dict) -> list[Batch]:
    """Three batches: no weighting, a weight per sample, a weight per pair."""
    rng = np.random.default_rng(zlib.crc32(folder.name.encode()))
    true_dtype, true_rank = inputs["y_true"]
    pred_dtype, pred_rank = inputs["y_pred"]
    state_dtype = inputs["sample_weight"][0]
    rank = true_rank if rules.sparse_y_true else true_rank - 1
    batches = []
    for index, samples in enumerate((1, 2, 3)):
        shape = (samples,) + (5,) * (rank - 1)
        if rules.sparse_y_true:
            y_true = sparse_input(rng, rules, shape, true_dtype)
        else:
            y_true = dense_input(rng, rules, shape, true_dtype)
        y_pred = generated_prediction(rng, rules, shape, pred_dtype, pred_rank)
        pairs = math.prod(shape)
        weight_count = (1, samples, pairs)[index]
        weight = rng.integers(1, 4, size=weight_count).astype(state_dtype)
        batches.append((y_true, y_pred, weight))
    return batches


def generated_prediction(
    rng: np.random.Generator, rules: Semantics, shape: tuple, dtype: str, rank: int
) -> np.ndarray:
    if rules.threshold is not None:
        scores = rng.random(shape).astype(dtype)
        scores.reshape(-1)[0] = np.nan
        return scores
    if rules.sparse_y_pred:
        return sparse_input(rng, rules, shape, dtype)
    return dense_input(rng, rules, shape, dtype)


def generated_case(folder: Path) -> Case:
    session = ort.InferenceSession(
        str(folder / "update.onnx"), providers=["CPUExecutionProvider"]
    )
    metadata = session.get_modelmeta().custom_metadata_map
    config = json.loads(metadata["onnxiou.config"])
    rules = semantics(metadata["onnxiou.metric"], config)
    inputs = input_spec(session)
    batches = generated_batches(folder, rules, inputs)
    state_dtype = metadata["onnxiou.state_dtype"]
    return Case(
        name=folder.name,
        folder=folder,
        state_dtype=state_dtype,
        num_classes=rules.num_classes,
        batches=batches,
        expected=reference_numbers(rules, batches),
        fractional=False,
        source="generated",
    )


def load_case(folder: Path) -> Case:
    if (folder / "case.json").is_file():
        return golden_case(folder)
    return generated_case(folder)


# -- numpy reference -------------------------------------------------------


def sparse_labels(values: np.ndarray) -> np.ndarray:
    """Class ids as int64: floats truncate, NaN becomes -1, infinities clip."""
    if values.dtype.kind != "f":
        return values.astype(np.int64)
    wide = values.astype(np.float64)
    wide = np.where(np.isnan(wide), -1.0, wide)
    wide = np.clip(wide, -FLOAT_LABEL_LIMIT, FLOAT_LABEL_LIMIT)
    return np.trunc(wide).astype(np.int64)


def dense_labels(values: np.ndarray, axis: int) -> np.ndarray:
    """numpy.argmax over the class axis: ties and NaN pick the first index."""
    if values.dtype.kind != "f":
        values = values.astype(np.float32)
    return np.argmax(values, axis=axis).astype(np.int64)


def predicted_labels(rules: Semantics, y_pred: np.ndarray) -> np.ndarray:
    if rules.threshold is not None:
        scores = y_pred.astype(np.float32)
        return (scores >= np.float32(rules.threshold)).astype(np.int64)
    if rules.sparse_y_pred:
        return sparse_labels(y_pred)
    return dense_labels(y_pred, rules.axis)


def pair_weights(weight: np.ndarray, pairs: int) -> np.ndarray:
    """Spread a 1-D weight of length 1, B or N over ``pairs`` pairs."""
    flat = weight.astype(np.float64).reshape(-1)
    return np.repeat(flat, pairs // flat.shape[0])


def batch_counts(rules: Semantics, batch: Batch) -> tuple[np.ndarray, float, float]:
    """Return one batch's (matrix, dropped weight, ignored weight) in float64."""
    y_true, y_pred, weight = batch
    if rules.sparse_y_true:
        true = sparse_labels(y_true).reshape(-1)
    else:
        true = dense_labels(y_true, rules.axis).reshape(-1)
    pred = predicted_labels(rules, y_pred).reshape(-1)
    weights = pair_weights(weight, true.shape[0])
    classes = rules.num_classes
    ignored = np.isin(true, rules.ignore_class)
    in_range = (true >= 0) & (true < classes) & (pred >= 0) & (pred < classes)
    counted = in_range & ~ignored
    matrix = np.zeros((classes, classes), dtype=np.float64)
    np.add.at(matrix, (true[counted], pred[counted]), weights[counted])
    dropped = float(weights[~in_range & ~ignored].sum())
    return matrix, dropped, float(weights[ignored].sum())


def scores(rules: Semantics, matrix: np.ndarray) -> tuple[float, np.ndarray]:
    """Per-class IoU (NaN where TP + FP + FN is 0) and the mean over targets."""
    true_positives = np.diag(matrix)
    denominator = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positives
    with np.errstate(divide="ignore", invalid="ignore"):
        iou = np.where(denominator > 0, true_positives / denominator, np.nan)
    targets = [k for k in rules.target_class_ids if denominator[k] > 0]
    result = float(np.mean(iou[targets])) if targets else 0.0
    return result, iou


def reference_numbers(rules: Semantics, batches: list[Batch]) -> Expected:
    matrix = np.zeros((rules.num_classes,) * 2, dtype=np.float64)
    dropped = ignored = 0.0
    for batch in batches:
        batch_matrix, batch_dropped, batch_ignored = batch_counts(rules, batch)
        matrix += batch_matrix
        dropped += batch_dropped
        ignored += batch_ignored
    result, iou = scores(rules, matrix)
    return Expected(matrix, result, iou, dropped, ignored)


# -- replay ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """Session settings of a replay and the tolerance of its counts."""

    providers: tuple[str, ...] = ("CPUExecutionProvider",)
    disable_cpu_fallback: bool = False
    count_rtol: float = FRACTIONAL_COUNT_RTOL


def make_session(path: Path, options: RunOptions) -> ort.InferenceSession:
    session_options = ort.SessionOptions()
    session_options.log_severity_level = 3
    if options.disable_cpu_fallback:
        session_options.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    return ort.InferenceSession(
        str(path), sess_options=session_options, providers=list(options.providers)
    )


def replay_step(case: Case, options: RunOptions) -> tuple:
    session = make_session(case.folder / "step.onnx", options)
    state = np.zeros((case.num_classes,) * 2, dtype=case.state_dtype)
    dropped = ignored = 0.0
    outputs: list[np.ndarray] = []
    for y_true, y_pred, weight in case.batches:
        feeds = {"y_true": y_true, "y_pred": y_pred, "sample_weight": weight}
        outputs = session.run(STEP_OUTPUTS, {**feeds, "total_cm": state})
        state = outputs[0]
        dropped += float(outputs[3])
        ignored += float(outputs[4])
    return state, outputs[1], outputs[2], dropped, ignored


def replay_update_result(case: Case, options: RunOptions) -> tuple:
    update = make_session(case.folder / "update.onnx", options)
    result = make_session(case.folder / "result.onnx", options)
    state = np.zeros((case.num_classes,) * 2, dtype=case.state_dtype)
    dropped = ignored = 0.0
    for y_true, y_pred, weight in case.batches:
        feeds = {"y_true": y_true, "y_pred": y_pred, "sample_weight": weight}
        state, batch_dropped, batch_ignored = update.run(
            UPDATE_OUTPUTS, {**feeds, "total_cm": state}
        )
        dropped += float(batch_dropped)
        ignored += float(batch_ignored)
    score, per_class = result.run(["result", "per_class_iou"], {"total_cm": state})
    return state, score, per_class, dropped, ignored


def mismatches(case: Case, actual: tuple, options: RunOptions) -> list[str]:
    """Describe how ``actual`` (the five final numbers) differs from the case's."""
    total_cm, result, per_class, dropped, ignored = actual
    expected = case.expected
    problems = []
    if total_cm.dtype != np.dtype(case.state_dtype):
        problems.append(f"total_cm dtype {total_cm.dtype}, expected {case.state_dtype}")
    rtol = options.count_rtol if case.fractional else 0.0
    counts = [
        ("total_cm", total_cm.astype(np.float64), expected.total_cm.astype(np.float64)),
        ("dropped_weight", np.float64(dropped), np.float64(expected.dropped_weight)),
        ("ignored_weight", np.float64(ignored), np.float64(expected.ignored_weight)),
    ]
    for name, got, want in counts:
        if not np.allclose(got, want, rtol=rtol, atol=0.0):
            got_list, want_list = np.asarray(got).tolist(), np.asarray(want).tolist()
            problems.append(f"{name} {got_list} != {want_list}")
    if not abs(float(result) - expected.result) <= SCORE_TOLERANCE:
        problems.append(f"result {float(result)} != {expected.result}")
    got_iou = np.asarray(per_class, dtype=np.float64)
    want_iou = expected.per_class_iou
    tolerance = {"rtol": 0.0, "atol": SCORE_TOLERANCE, "equal_nan": True}
    if not np.allclose(got_iou, want_iou, **tolerance):
        problems.append(f"per_class_iou {got_iou.tolist()} != {want_iou.tolist()}")
    return problems


def replay_case(folder: Path, options: RunOptions) -> dict[str, Any]:
    """Replay one case folder both ways; return its outcome as a JSON-ready dict."""
    outcome: dict[str, Any] = {"case": folder.name, "folder": str(folder)}
    try:
        case = load_case(folder)
        outcome["source"] = case.source
        problems = []
        replays = (("step", replay_step), ("update+result", replay_update_result))
        for label, replay in replays:
            found = mismatches(case, replay(case, options), options)
            problems += [f"{label}: {problem}" for problem in found]
    except Exception as error:  # noqa: BLE001 - any failure is this case's outcome
        problems = [f"{type(error).__name__}: {error}"]
    outcome["passed"] = not problems
    outcome["problems"] = problems
    return outcome


def describe(outcome: dict[str, Any]) -> str:
    if outcome["passed"]:
        return f"PASS {outcome['case']} ({outcome.get('source', '?')})"
    first = outcome["problems"][0].splitlines()[0]
    return f"FAIL {outcome['case']}: {first}"


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="case folders to replay")
    parser.add_argument(
        "--providers",
        default="CPUExecutionProvider",
        help="comma-separated onnxruntime execution providers, in priority order",
    )
    parser.add_argument(
        "--disable-cpu-fallback",
        action="store_true",
        help="set session.disable_cpu_ep_fallback=1, so a node left for CPU fails",
    )
    parser.add_argument(
        "--count-rtol",
        type=float,
        default=FRACTIONAL_COUNT_RTOL,
        help="relative tolerance of counts when a weight is fractional",
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object per case"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    options = RunOptions(
        tuple(args.providers.split(",")), args.disable_cpu_fallback, args.count_rtol
    )
    outcomes = [replay_case(folder, options) for folder in args.folders]
    for outcome in outcomes:
        print(json.dumps(outcome) if args.json else describe(outcome))
    return 0 if all(outcome["passed"] for outcome in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
