"""Tests of checkpoints: ``load_state``, saving, resuming and stop signals.

Expected matrices come from ``np.bincount`` over the arrays the test wrote.
The signal tests run ``python -m onnxiou evaluate`` in a subprocess slowed
down by ONNXIOU_TEST_DELAY, stop it with a signal once its first checkpoint
exists, and resume it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import onnxiou
from onnxiou.cli import main
from onnxiou.evaluation.checkpoint import (
    Checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.progress import RunProgress

REPO_ROOT = Path(onnxiou.__file__).resolve().parent.parent
NUM_CLASSES = 5


def oracle_matrix(
    pairs: list[tuple[np.ndarray, np.ndarray]], num_classes: int
) -> np.ndarray:
    """Count (label, predicted class) pixels whose both values are in range."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for label, predicted in pairs:
        label = label.astype(np.int64).ravel()
        predicted = predicted.astype(np.int64).ravel()
        keep = (label >= 0) & (label < num_classes)
        keep &= (predicted >= 0) & (predicted < num_classes)
        counts = np.bincount(
            label[keep] * num_classes + predicted[keep], minlength=num_classes**2
        )
        matrix += counts.reshape(num_classes, num_classes)
    return matrix


def write_folders(tmp_path: Path, count: int, seed: int = 0) -> tuple[Path, Path, dict]:
    """Write ``count`` label/prediction PNG pairs; return folders and arrays by stem."""
    rng = np.random.default_rng(seed)
    labels = tmp_path / "labels"
    predictions = tmp_path / "predictions"
    labels.mkdir()
    predictions.mkdir()
    arrays = {}
    for index in range(count):
        stem = f"image_{index:03d}"
        shape = (int(rng.integers(5, 20)), int(rng.integers(5, 20)))
        label = rng.integers(0, NUM_CLASSES, size=shape).astype(np.uint8)
        predicted = label.copy()
        flip = rng.random(shape) < 0.4
        predicted[flip] = rng.integers(0, NUM_CLASSES, size=int(flip.sum()))
        Image.fromarray(label).save(labels / f"{stem}.png")
        Image.fromarray(predicted).save(predictions / f"{stem}.png")
        arrays[stem] = (label, predicted)
    return labels, predictions, arrays


def run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = main(["evaluate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_json(path: Path) -> dict:
    return json.loads(path.read_text())


# --- MeanIoU.load_state -----------------------------------------------------


def test_load_state_restores_matrix_and_counters():
    matrix = np.array([[3, 1, 0], [0, 2, 2], [1, 0, 5]], dtype=np.float64)
    metric = onnxiou.MeanIoU(num_classes=3)

    metric.load_state(matrix, dropped_weight=4, ignored_weight=7)

    np.testing.assert_array_equal(metric.total_cm, matrix)
    assert metric.dropped_weight == 4.0
    assert metric.ignored_weight == 7.0
    # Per class: 3 / (4 + 4 - 3), 2 / (4 + 3 - 2), 5 / (6 + 7 - 5).
    expected = np.array([3 / 5, 2 / 5, 5 / 8])
    np.testing.assert_allclose(metric.per_class_iou(), expected, rtol=1e-6)
    assert float(metric.result()) == pytest.approx(expected.mean(), rel=1e-6)


def test_load_state_then_update_adds():
    metric = onnxiou.MeanIoU(num_classes=2, state_dtype="int64")
    metric.load_state(np.array([[5, 0], [0, 5]]))

    metric.update_state([0, 1, 1], [1, 1, 0])

    np.testing.assert_array_equal(metric.total_cm, [[5, 1], [1, 6]])
    assert metric.total_cm.dtype == np.int64


@pytest.mark.parametrize(
    "state,state_dtype,error,message",
    [
        (np.zeros((2, 3)), "float64", ValueError, "shape (3, 3)"),
        (np.full((3, 3), np.nan), "float64", ValueError, "finite"),
        (np.full((3, 3), np.inf), "float64", ValueError, "finite"),
        (np.full((3, 3), 0.5), "int64", ValueError, "stores exactly"),
        (
            np.full((3, 3), 2**24 + 1, dtype=np.int64),
            "float32",
            ValueError,
            "stores exactly",
        ),
        (np.full((3, 3), "a"), "float64", TypeError, "ints or floats"),
    ],
)
def test_load_state_rejects(state, state_dtype, error, message):
    metric = onnxiou.MeanIoU(num_classes=3, state_dtype=state_dtype)
    metric.update_state([0, 1, 2], [0, 1, 1])
    before = metric.total_cm

    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        metric.load_state(state)

    np.testing.assert_array_equal(metric.total_cm, before)


def test_load_state_rejects_nan_counter():
    metric = onnxiou.MeanIoU(num_classes=2)

    with pytest.raises(ValueError, match="dropped_weight"):
        metric.load_state(np.zeros((2, 2)), dropped_weight=float("nan"))


# --- checkpoint files -------------------------------------------------------


def test_checkpoint_round_trip(tmp_path):
    path = tmp_path / "run.ckpt.json"
    matrix = np.array([[1.0, 2.0], [3.0, 2**53]])
    checkpoint = Checkpoint(
        config={"num_classes": 2, "ignore_class": [3, 4]},
        total_cm=matrix,
        dropped_pixels=5.0,
        ignored_pixels=6.0,
        progress=RunProgress(["b", "a"], {"a": 5.0}),
    )

    save_checkpoint(path, checkpoint)
    loaded = load_checkpoint(path)

    np.testing.assert_array_equal(loaded.total_cm, matrix)
    assert loaded.total_cm.dtype == np.float64
    assert loaded.config == checkpoint.config
    assert loaded.dropped_pixels == 5.0
    assert loaded.ignored_pixels == 6.0
    assert loaded.progress.finished == ["b", "a"]
    assert loaded.progress.dropped_by_file == {"a": 5.0}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.ckpt.json"]


def test_checkpoint_replaced_atomically(tmp_path):
    path = tmp_path / "run.json"
    path.write_text("previous")
    checkpoint = Checkpoint({}, np.zeros((1, 1), np.int64), 0.0, 0.0, RunProgress())

    save_checkpoint(path, checkpoint)

    assert read_json(path)["format"] == "onnxiou-evaluate-checkpoint"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


@pytest.mark.parametrize(
    "content,message",
    [
        ("{not json", "is invalid: not valid JSON"),
        ('{"format": "other"}', "is not an onnxiou evaluate checkpoint"),
        ('{"format": "onnxiou-evaluate-checkpoint", "version": 99}', "version 99"),
        ('{"format": "onnxiou-evaluate-checkpoint", "version": true}', "version True"),
        (
            '{"format": "onnxiou-evaluate-checkpoint", "version": 1}',
            "is invalid: missing key 'config'",
        ),
    ],
)
def test_load_checkpoint_rejects(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)

    with pytest.raises(EvaluationError, match=message):
        load_checkpoint(path)


def test_checkpoint_round_trip_keeps_findings(tmp_path):
    path = tmp_path / "run.json"
    progress = RunProgress(
        ["a", "b"],
        {"a": 7.0},
        dropped_labels={"255": 6},
        dropped_predictions={"9": 1},
        fractional_labels={"b": 3},
        fractional_predictions={"a": 2},
    )
    checkpoint = Checkpoint({}, np.zeros((2, 2), np.int64), 7.0, 0.0, progress)

    save_checkpoint(path, checkpoint)
    loaded = load_checkpoint(path).progress

    assert loaded.dropped_by_file == {"a": 7.0}
    assert loaded.dropped_labels == {"255": 6}
    assert loaded.dropped_predictions == {"9": 1}
    assert loaded.fractional_labels == {"b": 3}
    assert loaded.fractional_predictions == {"a": 2}


def test_checkpoint_without_findings_loads(tmp_path):
    # The first release of the format wrote no dropped values or fractional
    # counts; such a checkpoint loads with them empty.
    path = tmp_path / "old.json"
    document = {
        "format": "onnxiou-evaluate-checkpoint",
        "version": 1,
        "config": {},
        "state_dtype": "float64",
        "total_cm": [[1.0, 0.0], [0.0, 2.0]],
        "dropped_pixels": 0.0,
        "ignored_pixels": 0.0,
        "finished": ["a"],
        "dropped_by_file": {},
    }
    path.write_text(json.dumps(document))

    loaded = load_checkpoint(path)

    assert loaded.progress.finished == ["a"]
    assert loaded.progress.dropped_labels == {}
    assert loaded.progress.fractional_labels == {}


# --- checkpoint options of the command line ---------------------------------


def test_checkpoint_written_at_end(tmp_path, capsys):
    labels, predictions, arrays = write_folders(tmp_path, 7)
    checkpoint = tmp_path / "run.json"

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--checkpoint-every",
        "3",
    )

    assert code == 0, err
    saved = read_json(checkpoint)
    assert saved["finished"] == sorted(arrays)
    expected = oracle_matrix(list(arrays.values()), NUM_CLASSES)
    np.testing.assert_array_equal(np.array(saved["total_cm"]), expected)
    assert saved["config"]["num_classes"] == NUM_CLASSES


def test_existing_checkpoint_needs_resume(tmp_path, capsys):
    labels, predictions, _ = write_folders(tmp_path, 2)
    checkpoint = tmp_path / "run.json"
    checkpoint.write_text("{}")

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
    )

    assert code == 2
    assert "already exists; pass --resume" in err
    assert checkpoint.read_text() == "{}"


def test_resume_missing_checkpoint(tmp_path, capsys):
    labels, predictions, _ = write_folders(tmp_path, 2)

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        tmp_path / "none.json",
        "--resume",
    )

    assert code == 2
    assert "not found; run without --resume" in err


def test_resume_rejects_other_options(tmp_path, capsys):
    labels, predictions, _ = write_folders(tmp_path, 3)
    checkpoint = tmp_path / "run.json"
    code, _, _ = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
    )
    assert code == 0

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--resume",
        "--ignore-class",
        "4",
    )

    assert code == 2
    assert "ignore_class: saved None, now 4" in err


def test_resume_rejects_unknown_files(tmp_path, capsys):
    labels, predictions, _ = write_folders(tmp_path, 3)
    checkpoint = tmp_path / "run.json"
    run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
    )
    (labels / "image_000.png").unlink()
    (predictions / "image_000.png").unlink()

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--resume",
    )

    assert code == 2
    assert "'image_000'" in err


def test_corrupt_file_keeps_earlier_work(tmp_path, capsys):
    labels, predictions, arrays = write_folders(tmp_path, 6)
    good = (predictions / "image_003.png").read_bytes()
    (predictions / "image_003.png").write_bytes(b"broken")
    checkpoint = tmp_path / "run.json"
    report = tmp_path / "report.json"

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--checkpoint-every",
        "100",
    )

    assert code == 2
    assert "image_003.png" in err
    saved = read_json(checkpoint)
    assert saved["finished"] == ["image_000", "image_001", "image_002"]
    first = [arrays[stem] for stem in saved["finished"]]
    np.testing.assert_array_equal(
        np.array(saved["total_cm"]), oracle_matrix(first, NUM_CLASSES)
    )

    (predictions / "image_003.png").write_bytes(good)
    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--resume",
        "--json",
        report,
    )

    assert code == 0, err
    expected = oracle_matrix(list(arrays.values()), NUM_CLASSES)
    np.testing.assert_array_equal(
        np.array(read_json(report)["confusion_matrix"]), expected
    )


def test_strict_error_leaves_file_out_of_checkpoint(tmp_path, capsys):
    labels, predictions, arrays = write_folders(tmp_path, 4)
    label, predicted = arrays["image_002"]
    bad_label = label.copy()
    bad_label[0, 0] = 9
    Image.fromarray(bad_label).save(labels / "image_002.png")
    checkpoint = tmp_path / "run.json"

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--strict",
        "--checkpoint",
        checkpoint,
    )

    assert code == 2
    assert "labels 9 (1 pixel)" in err
    saved = read_json(checkpoint)
    assert saved["finished"] == ["image_000", "image_001"]
    first = [arrays["image_000"], arrays["image_001"]]
    np.testing.assert_array_equal(
        np.array(saved["total_cm"]), oracle_matrix(first, NUM_CLASSES)
    )
    assert saved["dropped_pixels"] == 0


def finished_checkpoint(
    capsys, tmp_path: Path, *options: str
) -> tuple[Path, Path, Path]:
    """Run 3 files to the end with --checkpoint; return both folders and the file."""
    labels, predictions, _ = write_folders(tmp_path, 3)
    checkpoint = tmp_path / "run.json"
    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        *options,
    )
    assert code == 0, err
    return labels, predictions, checkpoint


def set_item(document: dict, keys: tuple, value) -> None:
    """Set ``document[keys[0]][keys[1]]...`` to ``value``."""
    container = document
    for key in keys[:-1]:
        container = container[key]
    container[keys[-1]] = value


@pytest.mark.parametrize(
    "keys,value,words",
    [
        (("total_cm", 1, 2), -3, "total_cm[1, 2] is -3"),
        (("total_cm", 0, 0), 2.5, "total_cm[0, 0] is 2.5"),
        (("total_cm", 0, 1), float("inf"), "total_cm[0, 1] is inf"),
        (("dropped_pixels",), -1, "dropped_pixels is -1"),
        (("ignored_pixels",), 0.5, "ignored_pixels is 0.5"),
        (("dropped_by_file", "image_000"), -4, "dropped_by_file['image_000'] is -4"),
        (
            ("fractional_labels", "image_001"),
            1.5,
            "fractional_labels['image_001'] is 1.5",
        ),
    ],
)
def test_resume_rejects_invalid_counts(tmp_path, capsys, keys, value, words):
    labels, predictions, checkpoint = finished_checkpoint(capsys, tmp_path)
    document = read_json(checkpoint)
    set_item(document, keys, value)
    # json.dumps writes infinity as Infinity, which json.loads reads back.
    checkpoint.write_text(json.dumps(document))

    code, out, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--resume",
    )

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert f"checkpoint {checkpoint} is invalid: {words}" in err
    assert "every count must be a non-negative whole number" in err


def resume(capsys, labels: Path, predictions: Path, checkpoint: Path):
    return run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--resume",
    )


def delete_key(key: str):
    def delete(document: dict) -> None:
        del document[key]

    return delete


def set_key(keys: tuple, value):
    return lambda document: set_item(document, keys, value)


@pytest.mark.parametrize(
    "change,words",
    [
        pytest.param(
            set_key(("dropped_by_file",), []),
            "dropped_by_file must be an object that maps stems to pixel counts, "
            "but got a list",
            id="dropped_by_file-list",
        ),
        pytest.param(
            set_key(("dropped_by_file",), None),
            "dropped_by_file must be an object that maps stems to pixel counts, "
            "but got null",
            id="dropped_by_file-null",
        ),
        pytest.param(
            set_key(("dropped_labels",), "255"),
            "dropped_labels must be an object that maps values as text to pixel "
            "counts, but got a string",
            id="dropped_labels-string",
        ),
        pytest.param(
            set_key(("dropped_pixels",), 10**400),
            "dropped_pixels is 10000000000000000000...00000000000000000000 "
            "(401 characters), above 2**53",
            id="dropped_pixels-overflow",
        ),
        pytest.param(
            set_key(("ignored_pixels",), 2**53 + 1),
            f"ignored_pixels is {2**53 + 1}, above 2**53",
            id="ignored_pixels-inexact",
        ),
        pytest.param(
            set_key(("ignored_pixels",), "0"),
            "ignored_pixels must be a number, but got a string '0'",
            id="ignored_pixels-string",
        ),
        pytest.param(
            set_key(("dropped_pixels",), True),
            "dropped_pixels must be a number, but got a boolean True",
            id="dropped_pixels-boolean",
        ),
        pytest.param(
            set_key(("fractional_labels",), {"image_001": 10**30}),
            f"fractional_labels['image_001'] is {10**30}, above 2**53",
            id="fractional_labels-overflow",
        ),
        pytest.param(
            set_key(("fractional_labels",), {"elsewhere": 1}),
            "fractional_labels lists the stem 'elsewhere', which is not in finished",
            id="fractional_labels-unknown-stem",
        ),
        pytest.param(
            set_key(("total_cm", 0, 0), True),
            "total_cm[0, 0] must be a number, but got a boolean True",
            id="total_cm-boolean",
        ),
        pytest.param(
            set_key(("total_cm", 2, 1), 2**64),
            f"total_cm[2, 1] is {2**64}, too large for a 64-bit count",
            id="total_cm-overflow",
        ),
        pytest.param(
            set_key(("total_cm", 1), [0, 0]),
            f"total_cm must be {NUM_CLASSES} rows of {NUM_CLASSES} numbers, but "
            "row 1 is a list of 2 items",
            id="total_cm-ragged",
        ),
        pytest.param(
            set_key(("total_cm",), {}),
            "total_cm must be a non-empty list of rows, but got an object",
            id="total_cm-object",
        ),
        pytest.param(
            set_key(("total_cm",), [[0, 0], [0, 0]]),
            f"shape ({NUM_CLASSES}, {NUM_CLASSES})",
            id="total_cm-other-size",
        ),
        pytest.param(
            set_key(("state_dtype",), "int8"),
            "state_dtype must be one of float64, int64, float32, but got a "
            "string 'int8'",
            id="state_dtype-unknown",
        ),
        pytest.param(
            set_key(("finished",), "image_000"),
            "finished must be a list of stems, but got a string",
            id="finished-string",
        ),
        pytest.param(
            set_key(("finished", 1), 7),
            "finished[1] must be a string, but got a number 7",
            id="finished-number",
        ),
        pytest.param(
            set_key(("finished", 1), "image_000"),
            "finished lists the stem 'image_000' twice",
            id="finished-repeat",
        ),
        pytest.param(
            set_key(("config",), [["num_classes", NUM_CLASSES]]),
            "config must be an object, but got a list",
            id="config-list",
        ),
        pytest.param(
            set_key(("config", "axis"), {"value": -1}),
            "config['axis'] must be null, a boolean, a number, a string or a list "
            "of those, but got an object",
            id="config-nested",
        ),
        pytest.param(
            delete_key("dropped_by_file"),
            "missing key 'dropped_by_file'",
            id="missing-key",
        ),
        pytest.param(
            set_key(("comment",), "edited"),
            "unexpected key 'comment'",
            id="unexpected-key",
        ),
    ],
)
def test_resume_rejects_tampered_checkpoint(tmp_path, capsys, change, words):
    labels, predictions, checkpoint = finished_checkpoint(capsys, tmp_path)
    document = read_json(checkpoint)
    document["fractional_labels"] = {"image_001": 2}
    change(document)
    checkpoint.write_text(json.dumps(document))

    code, out, err = resume(capsys, labels, predictions, checkpoint)

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"onnxiou: error: checkpoint {checkpoint} is invalid: ")
    assert words in err


@pytest.mark.parametrize(
    "content,words",
    [
        pytest.param(
            "[" * 100_000 + "]" * 100_000, "its JSON is nested too deeply", id="deep"
        ),
        pytest.param(
            '{"format": ' + "1" * 5000 + "}", "not valid JSON", id="long-integer"
        ),
        pytest.param('{"format": "onnxiou', "not valid JSON", id="truncated"),
        pytest.param(b"\xff\xfe{}", "not UTF-8 text", id="not-utf-8"),
    ],
)
def test_resume_rejects_unparsable_checkpoint(tmp_path, capsys, content, words):
    labels, predictions, _ = write_folders(tmp_path, 2)
    checkpoint = tmp_path / "run.json"
    if isinstance(content, bytes):
        checkpoint.write_bytes(content)
    else:
        checkpoint.write_text(content)

    code, out, err = resume(capsys, labels, predictions, checkpoint)

    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert f"checkpoint {checkpoint} is invalid: {words}" in err


def test_int64_checkpoint_fractional_cell_rejected(tmp_path, capsys):
    # Converting the cells to int64 first would truncate 2.5 to 2 unnoticed.
    labels, predictions, checkpoint = finished_checkpoint(
        capsys, tmp_path, "--state-dtype", "int64"
    )
    document = read_json(checkpoint)
    assert document["state_dtype"] == "int64"
    document["total_cm"][0][0] = 2.5
    checkpoint.write_text(json.dumps(document))

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--state-dtype",
        "int64",
        "--checkpoint",
        checkpoint,
        "--resume",
    )

    assert code == 2
    assert "total_cm[0, 0] is 2.5" in err


def test_resume_rejects_other_binary_foreground(tmp_path, capsys):
    labels, predictions = tmp_path / "labels", tmp_path / "predictions"
    labels.mkdir()
    predictions.mkdir()
    mask = np.zeros((4, 4), dtype=np.uint8)
    mask[1:3, 1:3] = 255
    Image.fromarray(mask).save(labels / "m.png")
    Image.fromarray(mask).save(predictions / "m.png")
    checkpoint = tmp_path / "run.json"
    binary = ["--metric", "BinaryIoU", "--checkpoint", checkpoint]
    code, _, err = run_cli(
        capsys, labels, predictions, *binary, "--binary-foreground", "255"
    )
    assert code == 0, err

    code, _, err = run_cli(capsys, labels, predictions, *binary, "--resume")

    assert code == 2
    assert "binary_foreground: saved 255, now None" in err


def test_resumed_warning_counts_earlier_files(tmp_path, capsys):
    labels, predictions, arrays = write_folders(tmp_path, 3)
    label, _ = arrays["image_000"]
    bad_label = label.copy()
    bad_label[0, :2] = 9
    Image.fromarray(bad_label).save(labels / "image_000.png")
    (predictions / "image_002.png").write_bytes(b"broken")
    checkpoint = tmp_path / "run.json"
    options = ["--num-classes", NUM_CLASSES, "--checkpoint", checkpoint]
    code, _, _ = run_cli(capsys, labels, predictions, *options)
    assert code == 2
    assert read_json(checkpoint)["finished"] == ["image_000", "image_001"]
    Image.fromarray(arrays["image_002"][1]).save(predictions / "image_002.png")

    code, _, err = run_cli(capsys, labels, predictions, *options, "--resume")

    assert code == 0, err
    assert "warning: 2 pixels in 1 file(s) were not scored" in err
    assert "labels 9 (2 pixels)" in err


# --- stop signals -------------------------------------------------------------


def start_run(labels: Path, predictions: Path, checkpoint: Path, delay: str):
    env = dict(os.environ, ONNXIOU_TEST_DELAY=delay)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    command = [
        sys.executable,
        "-m",
        "onnxiou",
        "evaluate",
        str(labels),
        str(predictions),
        "--num-classes",
        str(NUM_CLASSES),
        "--checkpoint",
        str(checkpoint),
        "--checkpoint-every",
        "2",
    ]
    return subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def wait_for_file(path: Path, process: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if process.poll() is not None:
            raise AssertionError(f"run ended early: {process.communicate()}")
        if time.monotonic() > deadline:
            process.kill()
            raise AssertionError(f"no checkpoint after {timeout} s")
        time.sleep(0.02)


@pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")
@pytest.mark.parametrize(
    "signum,exit_code",
    [
        (signal.SIGTERM, 143),
        (signal.SIGINT, 130),
    ],
)
def test_signal_saves_and_resume_matches(tmp_path, capsys, signum, exit_code):
    labels, predictions, arrays = write_folders(tmp_path, 30)
    checkpoint = tmp_path / "run.json"
    report = tmp_path / "report.json"
    process = start_run(labels, predictions, checkpoint, delay="0.1")

    wait_for_file(checkpoint, process, timeout=60)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)

    assert process.returncode == exit_code, stderr
    assert f"stopped by {signal.Signals(signum).name}" in stderr
    finished = read_json(checkpoint)["finished"]
    assert 2 <= len(finished) < len(arrays)

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--resume",
        "--json",
        report,
    )

    assert code == 0, err
    assert f"{len(finished)} of {len(arrays)} files already counted" in err
    result = read_json(report)
    expected = oracle_matrix(list(arrays.values()), NUM_CLASSES)
    np.testing.assert_array_equal(np.array(result["confusion_matrix"]), expected)
    assert [entry["stem"] for entry in result["files"]] == sorted(arrays)
    saved = read_json(checkpoint)
    assert sorted(saved["finished"]) == sorted(arrays)
    assert len(set(saved["finished"])) == len(arrays)


def run_interrupting_fsync(
    labels: Path, predictions: Path, checkpoint: Path, signals: int, *options: str
) -> subprocess.CompletedProcess:
    """Run the command in a subprocess that sends itself SIGINT during a save.

    The second ``os.fsync`` of a checkpoint file, which comes before the
    ``os.replace`` of the last save, first sends ``signals`` SIGINTs to the
    process. Files are counted with --checkpoint-every 2, so with 3 files
    the first save contains 2 files and the last one all 3.
    """
    argv = ["evaluate", str(labels), str(predictions)]
    argv += ["--num-classes", str(NUM_CLASSES), "--checkpoint", str(checkpoint)]
    argv += ["--checkpoint-every", "2", *options]
    code = f"""
import os, signal, stat, sys
real_fsync = os.fsync
file_syncs = []
def fsync(descriptor):
    if stat.S_ISREG(os.fstat(descriptor).st_mode):
        file_syncs.append(descriptor)
        if len(file_syncs) == 2:
            for _ in range({signals}):
                os.kill(os.getpid(), signal.SIGINT)
    real_fsync(descriptor)
os.fsync = fsync
from onnxiou.cli import main
sys.exit(main({argv!r}))
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")
def test_sigint_during_last_save_keeps_checkpoint(tmp_path):
    labels, predictions, arrays = write_folders(tmp_path, 3)
    checkpoint = tmp_path / "run.json"

    result = run_interrupting_fsync(labels, predictions, checkpoint, 1)

    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    assert "stopped by SIGINT after 3 of 3 files" in result.stderr
    assert f"checkpoint saved to {checkpoint}" in result.stderr
    saved = read_json(checkpoint)
    assert saved["finished"] == sorted(arrays)
    expected = oracle_matrix(list(arrays.values()), NUM_CLASSES)
    np.testing.assert_array_equal(np.array(saved["total_cm"]), expected)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "labels",
        "predictions",
        "run.json",
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals")
def test_second_sigint_during_save_keeps_previous(tmp_path):
    # The second signal exits at once, in the middle of the last save, so the
    # checkpoint is the one saved after 2 files.
    labels, predictions, arrays = write_folders(tmp_path, 3)
    checkpoint = tmp_path / "run.json"

    result = run_interrupting_fsync(labels, predictions, checkpoint, 2)

    assert result.returncode == 130, result.stderr
    assert "Traceback" not in result.stderr
    saved = read_json(checkpoint)
    assert saved["finished"] == ["image_000", "image_001"]
    first = [arrays["image_000"], arrays["image_001"]]
    np.testing.assert_array_equal(
        np.array(saved["total_cm"]), oracle_matrix(first, NUM_CLASSES)
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "labels",
        "predictions",
        "run.json",
    ]


@pytest.mark.parametrize("error", [KeyboardInterrupt, SystemExit, OSError])
def test_interrupted_save_keeps_previous_file(tmp_path, monkeypatch, error):
    path = tmp_path / "run.json"
    path.write_text("previous")
    checkpoint = Checkpoint({}, np.zeros((1, 1), np.int64), 0.0, 0.0, RunProgress())

    def failing_fsync(descriptor: int) -> None:
        raise error()

    monkeypatch.setattr(os, "fsync", failing_fsync)
    expected = EvaluationError if error is OSError else error
    with pytest.raises(expected):
        save_checkpoint(path, checkpoint)

    assert path.read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.json"]


def test_resume_of_finished_run_counts_nothing_twice(tmp_path, capsys):
    labels, predictions, arrays = write_folders(tmp_path, 4)
    checkpoint = tmp_path / "run.json"
    report = tmp_path / "report.json"
    run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
    )

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        NUM_CLASSES,
        "--checkpoint",
        checkpoint,
        "--resume",
        "--json",
        report,
    )

    assert code == 0, err
    expected = oracle_matrix(list(arrays.values()), NUM_CLASSES)
    np.testing.assert_array_equal(
        np.array(read_json(report)["confusion_matrix"]), expected
    )
