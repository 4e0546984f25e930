"""End-to-end tests of ``onnxiou evaluate`` on generated folders.

Every expected confusion matrix comes from ``np.bincount`` over the arrays
the test wrote, and every expected IoU from that matrix, so no expected
value passes through onnxiou or onnxruntime.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from PIL import Image

import onnxiou
from onnxiou.cli import main
from onnxiou.evaluation import sample

SAMPLE = Path(onnxiou.__file__).resolve().parent.parent / "examples" / "arc2017"


# --- numpy oracle -----------------------------------------------------------


def oracle_matrix(
    pairs: list[tuple[np.ndarray, np.ndarray]], num_classes: int, ignore=()
) -> np.ndarray:
    """Count (label, predicted class) pixels whose both values are in range."""
    matrix = np.zeros((num_classes, num_classes), dtype=np.int64)
    for label, predicted in pairs:
        label = np.asarray(label, dtype=np.int64).ravel()
        predicted = np.asarray(predicted, dtype=np.int64).ravel()
        keep = (label >= 0) & (label < num_classes) & ~np.isin(label, list(ignore))
        keep &= (predicted >= 0) & (predicted < num_classes)
        counts = np.bincount(
            label[keep] * num_classes + predicted[keep], minlength=num_classes**2
        )
        matrix += counts.reshape(num_classes, num_classes)
    return matrix


def oracle_iou(matrix: np.ndarray) -> np.ndarray:
    """TP / (TP + FP + FN) per class, NaN where that union is 0."""
    true_positive = np.diag(matrix).astype(np.float64)
    union = matrix.sum(axis=0) + matrix.sum(axis=1) - true_positive
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, true_positive / union, np.nan)


# --- file writers -----------------------------------------------------------


def write_png(path: Path, array: np.ndarray, mode: str | None = None) -> None:
    Image.fromarray(array, mode=mode).save(path)


def write_palette_png(path: Path, array: np.ndarray) -> None:
    """Save class ids as a "P" PNG whose colours differ from the ids."""
    image = Image.fromarray(array.astype(np.uint8), mode="P")
    palette = []
    for index in range(256):
        palette += [(index * 37) % 256, (255 - index) % 256, (index * 91) % 256]
    image.putpalette(palette)
    image.save(path)


def make_folders(tmp_path: Path) -> tuple[Path, Path]:
    labels = tmp_path / "labels"
    predictions = tmp_path / "predictions"
    labels.mkdir()
    predictions.mkdir()
    return labels, predictions


def random_labels(rng: np.random.Generator, shape, num_classes: int) -> np.ndarray:
    return rng.integers(0, num_classes, size=shape).astype(np.uint8)


def noisy_copy(
    rng: np.random.Generator, label: np.ndarray, num_classes: int
) -> np.ndarray:
    """Return ``label`` with about a third of the pixels set to a random class."""
    predicted = label.copy()
    flip = rng.random(label.shape) < 0.35
    predicted[flip] = rng.integers(0, num_classes, size=int(flip.sum()))
    return predicted


# --- running the command line -----------------------------------------------


def run_cli(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = main(["evaluate", *map(str, argv)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys, tmp_path: Path, *argv: str | Path) -> dict:
    report_path = tmp_path / "report.json"
    code, _, err = run_cli(capsys, *argv, "--json", report_path)
    assert code == 0, err
    return json.loads(report_path.read_text())


def run_cli_process(*argv: str | Path) -> subprocess.CompletedProcess:
    """Run ``python -m onnxiou evaluate`` in a subprocess and capture its output.

    Unlike :func:`run_cli`, this shows what a user sees on stderr, including
    what libraries log, which pytest would otherwise capture.
    """
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SAMPLE.parent.parent), *filter(None, [env.get("PYTHONPATH")])]
    )
    command = [sys.executable, "-m", "onnxiou", "evaluate", *map(str, argv)]
    return subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("onnxiou: error: ")
    return lines[0]


def check_matrix_and_iou(report: dict, expected: np.ndarray) -> None:
    np.testing.assert_array_equal(np.array(report["confusion_matrix"]), expected)
    iou = oracle_iou(expected)
    got = np.array(
        [np.nan if c["iou"] is None else c["iou"] for c in report["per_class"]]
    )
    np.testing.assert_allclose(got, iou, rtol=1e-6, equal_nan=True)
    assert report["result"] == pytest.approx(np.nanmean(iou), rel=1e-6)


# --- formats ----------------------------------------------------------------


def test_png_folders_report(tmp_path, capsys):
    rng = np.random.default_rng(0)
    labels, predictions = make_folders(tmp_path)
    arrays = []
    for stem, shape in (("a", (20, 30)), ("b", (17, 11)), ("c", (8, 40))):
        label = random_labels(rng, shape, 5)
        predicted = noisy_copy(rng, label, 5)
        write_png(labels / f"{stem}.png", label)
        write_png(predictions / f"{stem}.png", predicted)
        arrays.append((label, predicted))
    report = run_json(capsys, tmp_path, labels, predictions, "--num-classes", "5")
    expected = oracle_matrix(arrays, 5)

    check_matrix_and_iou(report, expected)
    assert report["metric"] == "MeanIoU"
    assert report["config"] == {
        "name": "mean_io_u",
        "dtype": "float32",
        "num_classes": 5,
        "ignore_class": None,
        "sparse_y_true": True,
        "sparse_y_pred": True,
        "axis": -1,
        "state_dtype": "float64",
        "kernel": "auto",
    }
    assert report["num_files"] == 3
    assert report["scored_pixels"] == 20 * 30 + 17 * 11 + 8 * 40
    assert report["dropped_pixels"] == 0
    assert report["ignored_pixels"] == 0
    assert [c["support"] for c in report["per_class"]] == expected.sum(axis=1).tolist()
    assert [c["predicted"] for c in report["per_class"]] == expected.sum(
        axis=0
    ).tolist()
    assert all(c["present"] for c in report["per_class"])
    assert [c["class_id"] for c in report["per_class"]] == [0, 1, 2, 3, 4]
    assert [c["name"] for c in report["per_class"]] == [None] * 5
    assert [f["stem"] for f in report["files"]] == ["a", "b", "c"]
    assert report["files"][0]["label"] == str(labels / "a.png")
    assert report["files"][0]["prediction"] == str(predictions / "a.png")


def test_table_rows_and_result(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    label = np.array([[0, 0, 1, 1], [2, 2, 2, 2]], dtype=np.uint8)
    predicted = np.array([[0, 1, 1, 1], [2, 2, 0, 2]], dtype=np.uint8)
    write_png(labels / "x.png", label)
    write_png(predictions / "x.png", predicted)
    names = tmp_path / "classes.txt"
    names.write_text("sky\ntree\nroad\nboat\n")

    code, out, err = run_cli(capsys, labels, predictions, "--class-names", names)

    assert code == 0, err
    assert err == ""  # no progress bar when stderr is not a terminal
    rows = {
        line.split()[0]: line.split()
        for line in out.splitlines()
        if line[:4].strip().isdigit()
    }
    # class 0: TP 1, FN 1, FP 1 -> 1/3; class 1: TP 2, FP 1 -> 2/3;
    # class 2: TP 3, FN 1 -> 3/4; class 3 absent.
    assert rows["0"] == ["0", "sky", "0.3333", "2", "yes"]
    assert rows["1"] == ["1", "tree", "0.6667", "2", "yes"]
    assert rows["2"] == ["2", "road", "0.7500", "4", "yes"]
    assert rows["3"] == ["3", "boat", "-", "0", "no"]
    expected_mean = (1 / 3 + 2 / 3 + 3 / 4) / 3
    assert f"MeanIoU: {expected_mean:.4f}" in out


def test_json_absent_class_is_null(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "x.png", np.array([[0, 1], [1, 1]], dtype=np.uint8))
    write_png(predictions / "x.png", np.array([[0, 1], [0, 1]], dtype=np.uint8))
    report_path = tmp_path / "report.json"

    code, _, err = run_cli(
        capsys, labels, predictions, "--num-classes", "3", "--json", report_path
    )

    assert code == 0, err
    raw = report_path.read_text()
    assert "NaN" not in raw
    absent = json.loads(raw)["per_class"][2]
    assert absent == {
        "class_id": 2,
        "name": None,
        "iou": None,
        "support": 0,
        "predicted": 0,
        "present": False,
        "target": True,
    }


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_progress_bar_on_terminal(tmp_path):
    labels, predictions = make_folders(tmp_path)
    for stem in ("a", "b"):
        write_png(labels / f"{stem}.png", np.zeros((3, 3), dtype=np.uint8))
        write_png(predictions / f"{stem}.png", np.zeros((3, 3), dtype=np.uint8))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SAMPLE.parent.parent), *filter(None, [env.get("PYTHONPATH")])]
    )
    import fcntl
    import pty
    import struct
    import termios

    controller, terminal = pty.openpty()
    # A new pseudo-terminal is 0 columns wide, and tqdm draws nothing there.
    window_size = struct.pack("HHHH", 24, 80, 0, 0)
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, window_size)
    command = [sys.executable, "-m", "onnxiou", "evaluate", str(labels)]
    command += [str(predictions), "--num-classes", "2"]
    try:
        result = subprocess.run(
            command, env=env, stdout=subprocess.PIPE, stderr=terminal, timeout=120
        )
        os.close(terminal)
        terminal = -1
        stderr = read_all(controller)
    finally:
        os.close(controller)
        if terminal >= 0:
            os.close(terminal)

    assert result.returncode == 0
    assert "evaluate: 100%" in stderr
    assert "2/2" in stderr
    assert b"evaluate: 100%" not in result.stdout


def read_all(descriptor: int) -> str:
    chunks = []
    while True:
        try:
            chunk = os.read(descriptor, 4096)
        except OSError:  # Linux raises EIO once the terminal side is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def test_palette_png_read_as_indices(tmp_path, capsys):
    rng = np.random.default_rng(1)
    labels, predictions = make_folders(tmp_path)
    label = random_labels(rng, (25, 19), 7)
    predicted = noisy_copy(rng, label, 7)
    write_palette_png(labels / "p.png", label)
    write_palette_png(predictions / "p.png", predicted)
    assert Image.open(labels / "p.png").mode == "P"

    report = run_json(capsys, tmp_path, labels, predictions, "--num-classes", "7")

    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 7))


def test_16bit_png_class_ids(tmp_path, capsys):
    rng = np.random.default_rng(2)
    labels, predictions = make_folders(tmp_path)
    label = rng.integers(0, 300, size=(30, 30)).astype(np.uint16)
    predicted = label.copy()
    predicted[::3] = rng.integers(0, 300, size=predicted[::3].shape)
    write_png(labels / "w.png", label)
    write_png(predictions / "w.png", predicted)
    assert Image.open(labels / "w.png").mode.startswith("I")

    report = run_json(capsys, tmp_path, labels, predictions, "--num-classes", "300")

    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 300))
    assert report["dropped_pixels"] == 0


def test_bilevel_png_foreground_is_class_1(tmp_path, capsys):
    rng = np.random.default_rng(11)
    labels, predictions = make_folders(tmp_path)
    label = rng.random((9, 13)) < 0.4
    predicted = rng.random((9, 13)) < 0.4
    Image.fromarray(label).save(labels / "mask.png")
    Image.fromarray(predicted).save(predictions / "mask.png")
    assert Image.open(labels / "mask.png").mode == "1"
    assert Image.open(predictions / "mask.png").mode == "1"

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        "2",
        "--json",
        tmp_path / "report.json",
    )
    report = json.loads((tmp_path / "report.json").read_text())

    assert code == 0, err
    expected = oracle_matrix([(label.astype(np.int64), predicted.astype(np.int64))], 2)
    check_matrix_and_iou(report, expected)
    assert report["per_class"][1]["support"] == int(label.sum())
    assert report["dropped_pixels"] == 0
    assert "warning" not in err


def test_npy_logits_last_axis(tmp_path, capsys):
    rng = np.random.default_rng(3)
    labels, predictions = make_folders(tmp_path)
    arrays = []
    for stem in ("m", "n"):
        label = random_labels(rng, (12, 9), 4)
        logits = rng.normal(size=(12, 9, 4)).astype(np.float32)
        write_png(labels / f"{stem}.png", label)
        np.save(predictions / f"{stem}.npy", logits)
        arrays.append((label, logits.argmax(axis=-1)))

    report = run_json(capsys, tmp_path, labels, predictions, "--num-classes", "4")

    check_matrix_and_iou(report, oracle_matrix(arrays, 4))
    assert report["config"]["sparse_y_pred"] is False
    assert report["config"]["axis"] == -1


def test_npy_logits_axis_1(tmp_path, capsys):
    rng = np.random.default_rng(4)
    labels, predictions = make_folders(tmp_path)
    label = rng.integers(0, 3, size=(2, 10, 6)).astype(np.int64)
    scores = rng.random(size=(2, 3, 10, 6))
    np.save(labels / "batch.npy", label)
    np.save(predictions / "batch.npy", scores)

    report = run_json(
        capsys, tmp_path, labels, predictions, "--num-classes", "3", "--axis", "1"
    )

    check_matrix_and_iou(report, oracle_matrix([(label, scores.argmax(axis=1))], 3))
    assert report["config"]["axis"] == 1


def test_labels_with_trailing_unit_axis(tmp_path, capsys):
    rng = np.random.default_rng(12)
    labels, predictions = make_folders(tmp_path)
    label = rng.integers(0, 3, size=(7, 5, 1)).astype(np.uint8)
    logits = rng.normal(size=(7, 5, 3)).astype(np.float32)
    np.save(labels / "t.npy", label)
    np.save(predictions / "t.npy", logits)

    report = run_json(capsys, tmp_path, labels, predictions, "--num-classes", "3")

    expected = oracle_matrix([(label[..., 0], logits.argmax(axis=-1))], 3)
    check_matrix_and_iou(report, expected)
    assert report["config"]["sparse_y_pred"] is False


@pytest.mark.parametrize(
    "label_shape,score_shape,axis",
    [
        ((4, 5), (3, 4, 5), 0),
        ((4, 5, 1), (3, 4, 5), 0),
        ((2, 4, 5), (2, 3, 4, 5), 1),
        # Axis 0 has 2 scores, not the 3 classes of the run, but it is still
        # the only axis whose removal leaves the label's pixels.
        ((4, 5), (2, 4, 5), 0),
    ],
)
def test_misplaced_class_axis_suggests_axis(
    tmp_path, capsys, label_shape, score_shape, axis
):
    labels, predictions = make_folders(tmp_path)
    np.save(labels / "c.npy", np.zeros(label_shape, dtype=np.uint8))
    scores = np.zeros(score_shape, dtype=np.float32)
    tifffile.imwrite(predictions / "c.tif", scores, photometric="minisblack")

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "3")

    assert code == 2
    line = error_line(err)
    assert "shape mismatch" in line
    assert f"pass --axis {axis}" in line


def test_tiff_labels_and_predictions(tmp_path, capsys):
    rng = np.random.default_rng(5)
    labels, predictions = make_folders(tmp_path)
    label = rng.integers(0, 6, size=(4, 13, 11)).astype(np.uint16)
    predicted = noisy_copy(rng, label, 6).astype(np.uint8)
    tifffile.imwrite(labels / "vol.tif", label, photometric="minisblack")
    tifffile.imwrite(predictions / "vol.tiff", predicted, photometric="minisblack")

    report = run_json(capsys, tmp_path, labels, predictions, "--num-classes", "6")

    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 6))


def test_two_files_form_one_pair(tmp_path, capsys):
    rng = np.random.default_rng(6)
    label = random_labels(rng, (9, 9), 3)
    predicted = noisy_copy(rng, label, 3)
    write_png(tmp_path / "truth.png", label)
    np.save(tmp_path / "guess.npy", predicted)

    report = run_json(
        capsys,
        tmp_path,
        tmp_path / "truth.png",
        tmp_path / "guess.npy",
        "--num-classes",
        "3",
    )

    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 3))
    assert [f["stem"] for f in report["files"]] == ["truth"]


@pytest.mark.parametrize(
    "argv,config",
    [
        (["--state-dtype", "int64"], {"state_dtype": "int64"}),
        (["--state-dtype", "float32"], {"state_dtype": "float32"}),
        (["--kernel", "onehot_matmul"], {"kernel": "onehot_matmul"}),
        (["--providers", "CPUExecutionProvider"], {"kernel": "auto"}),
    ],
)
def test_engine_options(tmp_path, capsys, argv, config):
    rng = np.random.default_rng(11)
    labels, predictions = make_folders(tmp_path)
    label = random_labels(rng, (21, 13), 6)
    predicted = noisy_copy(rng, label, 6)
    write_png(labels / "e.png", label)
    write_png(predictions / "e.png", predicted)

    report = run_json(
        capsys, tmp_path, labels, predictions, "--num-classes", "6", *argv
    )

    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 6))
    for key, value in config.items():
        assert report["config"][key] == value


# --- ignored and dropped pixels ---------------------------------------------


def void_folders(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    labels, predictions = make_folders(tmp_path)
    label = random_labels(rng, (16, 16), 4)
    label[rng.random(label.shape) < 0.2] = 255
    predicted = random_labels(rng, (16, 16), 4)
    write_palette_png(labels / "v.png", label)
    write_png(predictions / "v.png", predicted)
    return labels, predictions, label, predicted


def test_ignore_class_255(tmp_path, capsys):
    labels, predictions, label, predicted = void_folders(tmp_path)

    report = run_json(
        capsys,
        tmp_path,
        labels,
        predictions,
        "--num-classes",
        "4",
        "--ignore-class",
        "255",
    )

    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 4, ignore=[255]))
    assert report["ignored_pixels"] == int((label == 255).sum())
    assert report["dropped_pixels"] == 0
    assert report["config"]["ignore_class"] == 255


def test_void_without_ignore_is_dropped(tmp_path, capsys):
    labels, predictions, label, predicted = void_folders(tmp_path)
    report_path = tmp_path / "report.json"

    code, _, err = run_cli(
        capsys, labels, predictions, "--num-classes", "4", "--json", report_path
    )
    report = json.loads(report_path.read_text())

    assert code == 0
    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 4))
    voids = int((label == 255).sum())
    assert report["dropped_pixels"] == voids
    assert report["ignored_pixels"] == 0
    assert report["files"][0]["dropped_pixels"] == voids
    assert f"warning: {voids} pixels in 1 file(s)" in err


def test_dropped_warning_lists_values(tmp_path, capsys):
    labels, predictions, label, predicted = void_folders(tmp_path)
    predicted[0, :5] = 7
    write_png(predictions / "v.png", predicted)

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "4")

    assert code == 0
    voids = int((label == 255).sum())
    dropped = int(((label == 255) | (predicted == 7)).sum())
    assert f"warning: {dropped} pixels in 1 file(s) were not scored" in err
    assert f"labels 255 ({voids} pixels)" in err
    assert "predicted classes 7 (5 pixels)" in err
    assert "pass --ignore-class 255 if that label marks void pixels" in err


def test_dropped_warning_ranks_values(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    label = np.zeros((10, 10), dtype=np.int64)
    label[0, :6] = 9
    label[1, :2] = -1
    label[2, :1] = 4
    label[3, :3] = 5
    label[4, :4] = 6
    np.save(labels / "r.npy", label)
    np.save(predictions / "r.npy", np.zeros((10, 10), dtype=np.int64))

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "4")

    assert code == 0
    assert "labels 9 (6 pixels), 6 (4 pixels), 5 (3 pixels) and 2 more" in err
    assert "--ignore-class ID" in err


def test_strict_names_file(tmp_path, capsys):
    labels, predictions, label, _ = void_folders(tmp_path)

    code, out, err = run_cli(
        capsys, labels, predictions, "--num-classes", "4", "--strict"
    )

    assert code == 2
    assert out == ""
    line = error_line(err)
    assert str(labels / "v.png") in line
    voids = int((label == 255).sum())
    assert f"labels 255 ({voids} pixels)" in line
    assert "pass --ignore-class 255 if that label marks void pixels" in line


def test_strict_accepts_ignored_class(tmp_path, capsys):
    labels, predictions, _, _ = void_folders(tmp_path)

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--num-classes",
        "4",
        "--strict",
        "--ignore-class",
        "255",
    )

    assert code == 0, err


# --- other metrics ----------------------------------------------------------


def test_iou_target_classes(tmp_path, capsys):
    rng = np.random.default_rng(8)
    labels, predictions = make_folders(tmp_path)
    label = random_labels(rng, (20, 20), 4)
    predicted = noisy_copy(rng, label, 4)
    write_png(labels / "t.png", label)
    write_png(predictions / "t.png", predicted)

    report = run_json(
        capsys,
        tmp_path,
        labels,
        predictions,
        "--metric",
        "IoU",
        "--num-classes",
        "4",
        "--target-class-ids",
        "0,2",
    )

    iou = oracle_iou(oracle_matrix([(label, predicted)], 4))
    assert report["result"] == pytest.approx((iou[0] + iou[2]) / 2, rel=1e-6)
    assert [c["target"] for c in report["per_class"]] == [True, False, True, False]
    assert report["config"]["target_class_ids"] == [0, 2]


def test_binary_iou_threshold(tmp_path, capsys):
    rng = np.random.default_rng(9)
    labels, predictions = make_folders(tmp_path)
    label = rng.integers(0, 2, size=(15, 14)).astype(np.uint8)
    probability = rng.random(size=(15, 14)).astype(np.float32)
    write_png(labels / "b.png", label)
    np.save(predictions / "b.npy", probability)

    report = run_json(
        capsys,
        tmp_path,
        labels,
        predictions,
        "--metric",
        "BinaryIoU",
        "--threshold",
        "0.3",
    )

    predicted = (probability >= 0.3).astype(np.int64)
    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 2))
    assert report["config"]["threshold"] == pytest.approx(0.3)


def binary_mask_folders(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """Write a 0/255 label mask and a prediction of scores in [0, 1)."""
    rng = np.random.default_rng(13)
    labels, predictions = make_folders(tmp_path)
    mask = np.where(rng.random((11, 12)) < 0.3, 255, 0).astype(np.uint8)
    scores = rng.random((11, 12)).astype(np.float32)
    write_png(labels / "m.png", mask)
    np.save(predictions / "m.npy", scores)
    return labels, predictions, mask, scores


def test_binary_iou_0_255_mask_warning(tmp_path, capsys):
    labels, predictions, mask, _ = binary_mask_folders(tmp_path)

    code, _, err = run_cli(capsys, labels, predictions, "--metric", "BinaryIoU")

    assert code == 0
    foreground = int((mask == 255).sum())
    assert f"{foreground} pixels in 1 file(s) were not scored" in err
    assert "a label other than 0 and 1" in err
    assert f"labels 255 ({foreground} pixels)" in err
    assert "BinaryIoU labels must be 0 or 1" in err
    assert "a 0/255 mask needs converting to 0/1" in err
    assert "--binary-foreground 255" in err
    assert "--ignore-class" not in err


def test_binary_iou_0_255_mask_strict(tmp_path, capsys):
    labels, predictions, mask, _ = binary_mask_folders(tmp_path)

    code, out, err = run_cli(
        capsys, labels, predictions, "--metric", "BinaryIoU", "--strict"
    )

    assert code == 2
    assert out == ""
    line = error_line(err)
    assert str(labels / "m.png") in line
    assert f"labels 255 ({int((mask == 255).sum())} pixels)" in line
    assert "BinaryIoU labels must be 0 or 1" in line
    assert "--ignore-class" not in line


def test_binary_foreground_maps_label(tmp_path, capsys):
    labels, predictions, mask, scores = binary_mask_folders(tmp_path)

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--metric",
        "BinaryIoU",
        "--binary-foreground",
        "255",
        "--json",
        tmp_path / "report.json",
    )
    report = json.loads((tmp_path / "report.json").read_text())

    assert code == 0
    assert "warning" not in err
    label = (mask == 255).astype(np.int64)
    predicted = (scores >= 0.5).astype(np.int64)
    check_matrix_and_iou(report, oracle_matrix([(label, predicted)], 2))
    assert report["dropped_pixels"] == 0


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["--num-classes", "2", "--binary-foreground", "255"],
            "--binary-foreground applies only to --metric BinaryIoU",
        ),
        (
            ["--metric", "BinaryIoU", "--binary-foreground", "0"],
            "--binary-foreground 0 would read the background label 0 as class 1",
        ),
    ],
)
def test_binary_foreground_rejected(tmp_path, capsys, argv, message):
    labels, predictions, _, _ = binary_mask_folders(tmp_path)

    code, _, err = run_cli(capsys, labels, predictions, *argv)

    assert code == 2
    assert message in error_line(err)


# --- fractional class ids ---------------------------------------------------


def fractional_folders(tmp_path: Path) -> tuple[Path, Path, np.ndarray]:
    """Write float labels as a bilinear resize leaves them, and whole predictions."""
    labels, predictions = make_folders(tmp_path)
    label = np.array([[0.0, 1.5, 2.0], [1.0, 0.25, 2.0]])
    np.save(labels / "f.npy", label)
    np.save(predictions / "f.npy", np.array([[0, 1, 2], [1, 0, 2]], dtype=np.uint8))
    np.save(labels / "g.npy", np.zeros((2, 3)))
    np.save(predictions / "g.npy", np.zeros((2, 3), dtype=np.uint8))
    return labels, predictions, label


def test_fractional_labels_warn(tmp_path, capsys):
    labels, predictions, label = fractional_folders(tmp_path)

    with warnings.catch_warnings(record=True) as python_warnings:
        warnings.simplefilter("always")
        code, _, err = run_cli(
            capsys,
            labels,
            predictions,
            "--num-classes",
            "3",
            "--json",
            tmp_path / "report.json",
        )
    report = json.loads((tmp_path / "report.json").read_text())

    assert code == 0
    # The command's own warning replaces the metric's Python warning.
    assert [str(warning.message) for warning in python_warnings] == []
    predicted = np.array([[0, 1, 2], [1, 0, 2]])
    truncated = np.trunc(label).astype(np.int64)
    zeros = np.zeros((2, 3), dtype=np.int64)
    expected = oracle_matrix([(truncated, predicted), (zeros, zeros)], 3)
    check_matrix_and_iou(report, expected)
    assert "warning: 2 pixels in 1 file(s) have a fractional label" in err
    assert f"{labels / 'f.npy'} (2 pixels)" in err
    assert "nearest-neighbour" in err
    assert str(labels / "g.npy") not in err


def test_fractional_labels_strict(tmp_path, capsys):
    labels, predictions, _ = fractional_folders(tmp_path)

    code, out, err = run_cli(
        capsys, labels, predictions, "--num-classes", "3", "--strict"
    )

    assert code == 2
    assert out == ""
    line = error_line(err)
    assert f"2 pixels of {labels / 'f.npy'} have a fractional label" in line
    assert "such as 1.5" in line


def test_fractional_value_warning_filtered_by_category(tmp_path, capsys, monkeypatch):
    # The metric's FractionalValueWarning is dropped whatever its text, and
    # other UserWarnings pass even when they mention fractional values.
    labels, predictions, _ = fractional_folders(tmp_path)
    update_state = onnxiou.MeanIoU.update_state

    def update_state_with_warnings(self, *args, **kwargs):
        warnings.warn(
            "y_true has non-integer class ids", onnxiou.FractionalValueWarning
        )
        warnings.warn("another warning about fractional values", UserWarning)
        return update_state(self, *args, **kwargs)

    monkeypatch.setattr(onnxiou.MeanIoU, "update_state", update_state_with_warnings)
    with warnings.catch_warnings(record=True) as python_warnings:
        warnings.simplefilter("always")
        code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "3")

    assert code == 0, err
    categories = [warning.category for warning in python_warnings]
    assert onnxiou.FractionalValueWarning not in categories
    assert categories == [UserWarning, UserWarning]
    assert all("another warning" in str(w.message) for w in python_warnings)


def test_fractional_predictions_warn(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    np.save(labels / "p.npy", np.array([[0, 1], [2, 1]], dtype=np.uint8))
    np.save(predictions / "p.npy", np.array([[0.0, 0.7], [2.0, 1.0]]))

    with warnings.catch_warnings(record=True) as python_warnings:
        warnings.simplefilter("always")
        code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "3")

    assert code == 0
    assert "1 pixel in 1 file(s) has a fractional predicted class" in err
    assert f"{predictions / 'p.npy'} (1 pixel)" in err
    assert "one axis more than the labels" in err
    assert [str(warning.message) for warning in python_warnings] == []


# --- errors -----------------------------------------------------------------


def test_unmatched_stems_listed(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    image = np.zeros((4, 4), dtype=np.uint8)
    for stem in ("both", "only_label_1", "only_label_2"):
        write_png(labels / f"{stem}.png", image)
    for stem in ("both", "only_prediction"):
        write_png(predictions / f"{stem}.png", image)

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    line = error_line(err)
    assert "unmatched file stems" in line
    assert "'only_label_1', 'only_label_2'" in line
    assert "'only_prediction'" in line
    assert "'both'" not in line


def test_many_unmatched_stems_abbreviated(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    image = np.zeros((4, 4), dtype=np.uint8)
    write_png(predictions / "p.png", image)
    for index in range(8):
        write_png(labels / f"l{index}.png", image)

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    assert "8 label file(s) have no prediction" in err
    assert "and 3 more" in err


def test_size_mismatch_names_file_and_shapes(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((10, 12), dtype=np.uint8))
    write_png(predictions / "a.png", np.zeros((10, 12), dtype=np.uint8))
    write_png(labels / "b.png", np.zeros((10, 12), dtype=np.uint8))
    write_png(predictions / "b.png", np.zeros((12, 10), dtype=np.uint8))

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    line = error_line(err)
    assert str(predictions / "b.png") in line
    assert "(10, 12)" in line
    assert "(12, 10)" in line


def test_scores_with_wrong_class_count(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((5, 6), dtype=np.uint8))
    np.save(predictions / "a.npy", np.zeros((5, 6, 3), dtype=np.float32))

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "4")

    assert code == 2
    line = error_line(err)
    assert "3 class scores on axis -1" in line
    assert str(predictions / "a.npy") in line


def test_corrupt_file_named(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((6, 6), dtype=np.uint8))
    write_png(predictions / "a.png", np.zeros((6, 6), dtype=np.uint8))
    write_png(labels / "b.png", np.zeros((6, 6), dtype=np.uint8))
    (predictions / "b.png").write_bytes(b"\x89PNG\r\n\x1a\n not really a png")

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    assert str(predictions / "b.png") in error_line(err)


@pytest.mark.parametrize(
    "name,content",
    [
        ("a.npy", b"\x93NUMPY garbage"),
        ("a.tif", b"II*\x00 garbage"),
    ],
)
def test_corrupt_npy_and_tiff_named(tmp_path, capsys, name, content):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((6, 6), dtype=np.uint8))
    (predictions / name).write_bytes(content)

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    assert str(predictions / name) in error_line(err)


# A little-endian TIFF header whose first IFD, at offset 8, has no entries:
# tifffile logs that the page is invalid and returns an empty array.
EMPTY_TIFF = b"II*\x00\x08\x00\x00\x00" + bytes(64)


def test_tiff_without_pixels_named(tmp_path):
    labels, predictions = make_folders(tmp_path)
    (labels / "a.tif").write_bytes(EMPTY_TIFF)
    (predictions / "a.tif").write_bytes(EMPTY_TIFF)

    result = run_cli_process(labels, predictions, "--num-classes", "2")

    assert result.returncode == 2
    assert result.stdout == ""
    line = error_line(result.stderr)
    assert f"cannot read {labels / 'a.tif'}" in line
    assert "no image data" in line
    assert "tifffile" in line


@pytest.mark.parametrize("shape", [(0,), (0, 4), (3, 0)])
def test_npy_without_pixels_named(tmp_path, capsys, shape):
    labels, predictions = make_folders(tmp_path)
    np.save(labels / "a.npy", np.zeros(shape, dtype=np.uint8))
    np.save(predictions / "a.npy", np.zeros(shape, dtype=np.uint8))

    code, out, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    assert out == ""
    line = error_line(err)
    assert f"{labels / 'a.npy'} contains no pixels (shape {shape})" in line


def test_empty_prediction_named(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((2, 2), dtype=np.uint8))
    np.save(predictions / "a.npy", np.zeros((0, 2, 2), dtype=np.float32))

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    assert f"{predictions / 'a.npy'} contains no pixels" in error_line(err)


def test_tiff_with_corrupt_compressed_data(tmp_path, capsys):
    # The header and IFD are intact, but the zlib stream of every strip is
    # overwritten, so decompressing it fails inside tifffile.
    labels, predictions = make_folders(tmp_path)
    label = np.zeros((32, 32), dtype=np.uint8)
    write_png(labels / "a.png", label)
    path = predictions / "a.tif"
    tifffile.imwrite(path, label, photometric="minisblack", compression="zlib")
    with tifffile.TiffFile(path) as tiff:
        page = tiff.pages[0]
        strips = list(zip(page.dataoffsets, page.databytecounts))
    data = bytearray(path.read_bytes())
    for offset, size in strips:
        data[offset : offset + size] = b"\x55" * size
    path.write_bytes(bytes(data))

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    line = error_line(err)
    assert f"cannot read {path}: corrupt TIFF data" in line


def npy_with_header(header: bytes) -> bytes:
    """Return a version 1.0 .npy file whose header dictionary text is ``header``."""
    padded = header + b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(padded).to_bytes(2, "little") + padded


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"not an array at all", id="text"),
        pytest.param(
            npy_with_header(b"{'descr': '|u1', 'fortran_order': False, 'shape': (("),
            id="unclosed-header",
        ),
        pytest.param(
            npy_with_header(
                b"{'descr': '|u1', 'fortran_order': False, "
                b"'shape': (99999999999999999999999, 4), }"
            ),
            id="shape-overflow",
        ),
        pytest.param(pickle.dumps([1, 2, 3]), id="pickle"),
        pytest.param("npz", id="npz"),
        pytest.param("object", id="object-array"),
        pytest.param(b"", id="empty"),
    ],
)
def test_invalid_npy_named(tmp_path, capsys, content):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((2, 2), dtype=np.uint8))
    path = predictions / "a.npy"
    if content == "npz":
        with open(path, "wb") as stream:
            np.savez(stream, a=np.zeros((2, 2)))
    elif content == "object":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        path.write_bytes(content)

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    line = error_line(err)
    assert f"{path} is not a valid .npy array file" in line
    assert "allow_pickle" not in line


def test_num_classes_too_large_for_memory(tmp_path, capsys):
    # The 2**24 x 2**24 float64 matrix needs 2**51 bytes (2 PiB), more than a
    # 48-bit address space holds, so the allocation fails on any machine.
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((2, 2), dtype=np.uint8))
    write_png(predictions / "a.png", np.zeros((2, 2), dtype=np.uint8))

    code, out, err = run_cli(capsys, labels, predictions, "--num-classes", 2**24)

    assert code == 2
    assert out == ""
    line = error_line(err)
    assert "out of memory" in line
    assert "16777216 x 16777216 float64 confusion matrix" in line
    assert f"needs {2**51 / 2**30:.1f} GiB" in line


def test_library_error_names_flag(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((3, 3), dtype=np.uint8))
    write_png(predictions / "a.png", np.zeros((3, 3), dtype=np.uint8))

    code, _, err = run_cli(
        capsys,
        labels,
        predictions,
        "--metric",
        "IoU",
        "--num-classes",
        "3",
        "--target-class-ids",
        "0,5",
    )

    assert code == 2
    line = error_line(err)
    assert "--target-class-ids" in line
    assert "`" not in line
    assert "target_class_ids" not in line


def test_truncated_png_named(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    rng = np.random.default_rng(10)
    write_png(labels / "a.png", rng.integers(0, 2, size=(64, 64)).astype(np.uint8))
    write_png(predictions / "a.png", rng.integers(0, 2, size=(64, 64)).astype(np.uint8))
    data = (labels / "a.png").read_bytes()
    (labels / "a.png").write_bytes(data[: len(data) // 2])

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    assert str(labels / "a.png") in error_line(err)


def test_rgb_png_rejected(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((4, 4, 3), dtype=np.uint8))
    write_png(predictions / "a.png", np.zeros((4, 4), dtype=np.uint8))

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    line = error_line(err)
    assert "mode 'RGB'" in line
    assert str(labels / "a.png") in line


def test_missing_folder(tmp_path, capsys):
    labels, _ = make_folders(tmp_path)

    code, _, err = run_cli(capsys, labels, tmp_path / "nowhere", "--num-classes", "2")

    assert code == 2
    assert f"predictions path not found: {tmp_path / 'nowhere'}" in error_line(err)


def test_empty_folder(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    (labels / "notes.txt").write_text("not a label map")

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    assert f"no label files (.png, .npy, .tif, .tiff) in {labels}" in error_line(err)


def test_duplicate_stem_in_folder(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    image = np.zeros((3, 3), dtype=np.uint8)
    write_png(labels / "a.png", image)
    np.save(labels / "a.npy", image)
    write_png(predictions / "a.png", image)

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    assert "have the stem 'a': a.npy and a.png" in error_line(err)


def test_mixed_prediction_kinds(tmp_path, capsys):
    labels, predictions = make_folders(tmp_path)
    image = np.zeros((3, 3), dtype=np.uint8)
    write_png(labels / "a.png", image)
    write_png(labels / "b.png", image)
    np.save(predictions / "a.npy", np.zeros((3, 3, 2), dtype=np.float32))
    write_png(predictions / "b.png", image)

    code, _, err = run_cli(capsys, labels, predictions, "--num-classes", "2")

    assert code == 2
    line = error_line(err)
    assert str(predictions / "b.png") in line
    assert "one run takes one kind" in line


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["--num-classes", "3", "--target-class-ids", "0"],
            "does not apply to MeanIoU",
        ),
        (
            ["--metric", "IoU", "--num-classes", "3"],
            "--metric IoU needs --target-class-ids",
        ),
        (["--num-classes", "3", "--threshold", "0.2"], "--threshold applies only"),
        (
            ["--metric", "BinaryIoU", "--ignore-class", "255"],
            "does not apply to BinaryIoU",
        ),
        (
            ["--metric", "IoU", "--num-classes", "3", "--target-class-ids", "x"],
            "comma-separated ints",
        ),
        (
            ["--metric", "IoU", "--num-classes", "3", "--target-class-ids", "5"],
            "invalid IoU option",
        ),
        ([], "--num-classes is required"),
        (
            ["--num-classes", "3", "--checkpoint-every", "5"],
            "--checkpoint-every needs --checkpoint FILE",
        ),
        (["--num-classes", "3", "--resume"], "--resume needs --checkpoint FILE"),
        (
            [
                "--num-classes",
                "3",
                "--checkpoint",
                "unused.json",
                "--checkpoint-every",
                "0",
            ],
            "--checkpoint-every must be at least 1, but got 0",
        ),
    ],
)
def test_invalid_options(tmp_path, capsys, argv, message):
    labels, predictions = make_folders(tmp_path)
    write_png(labels / "a.png", np.zeros((3, 3), dtype=np.uint8))
    write_png(predictions / "a.png", np.zeros((3, 3), dtype=np.uint8))

    code, _, err = run_cli(capsys, labels, predictions, *argv)

    assert code == 2
    assert message in error_line(err)


def test_class_names_contradict_num_classes(tmp_path, capsys):
    names = tmp_path / "names.txt"
    names.write_text("a\nb\nc\n")

    code, _, err = run_cli(capsys, "--class-names", names, "--num-classes", "4")

    assert code == 2
    assert "--num-classes 4 contradicts --class-names" in error_line(err)


def test_only_labels_given(capsys):
    code, _, err = run_cli(capsys, SAMPLE / "labels")

    assert code == 2
    assert "expected both LABELS and PREDICTIONS" in error_line(err)


def test_version_skips_evaluate_imports():
    # --version must not load the evaluate command or its image readers; it
    # loads only what importing the onnxiou package loads.
    absent = ["onnxiou.cli.evaluate", "onnxiou.evaluation", "PIL", "tifffile", "tqdm"]
    code = (
        "import sys\n"
        "from onnxiou.cli import main\n"
        "try:\n"
        "    main(['--version'])\n"
        "except SystemExit as exit:\n"
        "    print('exit', exit.code)\n"
        f"print([name for name in {absent!r} if name in sys.modules])\n"
    )
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [str(SAMPLE.parent.parent), *filter(None, [env.get("PYTHONPATH")])]
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"onnxiou {onnxiou.__version__}",
        "exit 0",
        "[]",
    ]


# --- bundled sample ---------------------------------------------------------


def test_bundled_sample_matches_numpy(tmp_path, capsys):
    names = (SAMPLE / "classes.txt").read_text().splitlines()
    arrays = []
    for label_path in sorted((SAMPLE / "labels").glob("*.png")):
        label = np.asarray(Image.open(label_path))
        predicted = np.asarray(Image.open(SAMPLE / "predictions" / label_path.name))
        arrays.append((label, predicted))
    expected = oracle_matrix(arrays, len(names))

    report = run_json(capsys, tmp_path)
    code, out, _ = run_cli(capsys)

    check_matrix_and_iou(report, expected)
    assert [c["name"] for c in report["per_class"]] == names
    assert report["num_files"] == len(arrays) == 4
    assert code == 0
    assert f"MeanIoU: {np.nanmean(oracle_iou(expected)):.4f}" in out


def test_bundled_sample_missing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(sample, "sample_root", lambda: tmp_path / "examples")

    code, _, err = run_cli(capsys)

    assert code == 2
    assert "ships with the source checkout" in error_line(err)
