"""Tests of the ``onnxiou export`` and ``onnxiou info`` subcommands."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import onnxiou
from onnxiou.cli import SUBCOMMANDS, build_parser, main, memory_message, name_flags

REPO_ROOT = Path(__file__).resolve().parent.parent
KINDS = ("update", "result", "step")


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """Run ``main(argv)`` and return (exit code, stdout, stderr)."""
    try:
        code = main([str(arg) for arg in argv])
    except SystemExit as exit_:  # argparse exits on syntax errors
        code = exit_.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def metadata(path: Path) -> dict[str, str]:
    return {prop.key: prop.value for prop in onnx.load(str(path)).metadata_props}


# -- export ----------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["MeanIoU", "--num-classes", "21", "--ignore-class", "255"],
            lambda: onnxiou.MeanIoU(num_classes=21, ignore_class=255),
        ),
        (
            [
                "IoU",
                "--num-classes",
                "3",
                "--target-class-ids",
                "0,2",
                "--ignore-class",
                "255",
                "--ignore-class",
                "-1",
                "--state-dtype",
                "int64",
            ],
            lambda: onnxiou.IoU(3, [0, 2], ignore_class=[255, -1], state_dtype="int64"),
        ),
        (
            ["BinaryIoU", "--target-class-ids", "1", "--threshold", "0.3"],
            lambda: onnxiou.BinaryIoU(target_class_ids=[1], threshold=0.3),
        ),
        (
            [
                "OneHotIoU",
                "--num-classes",
                "4",
                "--target-class-ids",
                "1, 3",
                "--sparse-y-pred",
                "--axis",
                "1",
            ],
            lambda: onnxiou.OneHotIoU(4, [1, 3], sparse_y_pred=True, axis=1),
        ),
        (
            ["OneHotMeanIoU", "--num-classes", "3", "--kernel", "onehot_matmul"],
            lambda: onnxiou.OneHotMeanIoU(3, kernel="onehot_matmul"),
        ),
        (
            [
                "MeanIoU",
                "--num-classes",
                "5",
                "--dense-y-true",
                "--dense-y-pred",
                "--axis",
                "1",
            ],
            lambda: onnxiou.MeanIoU(
                5, sparse_y_true=False, sparse_y_pred=False, axis=1
            ),
        ),
    ],
)
def test_export_flags_set_config(tmp_path, capsys, argv, expected):
    code, out, err = run_cli(capsys, "export", *argv, "--out", tmp_path)
    assert code == 0, err
    assert err == ""
    assert out.splitlines() == [str(tmp_path / f"{kind}.onnx") for kind in KINDS]
    metric = expected()
    for kind in KINDS:
        meta = metadata(tmp_path / f"{kind}.onnx")
        assert meta["onnxiou.graph"] == kind
        assert meta["onnxiou.metric"] == type(metric).__name__
        assert json.loads(meta["onnxiou.config"]) == metric.get_config()


def test_export_graph_flags(tmp_path, capsys):
    code, _, err = run_cli(
        capsys,
        "export",
        "IoU",
        "--num-classes",
        "3",
        "--target-class-ids",
        "0,2",
        "--dense-y-pred",
        "--opset",
        "17",
        "--y-true-dtype",
        "uint8",
        "--y-pred-dtype",
        "float16",
        "--y-true-rank",
        "2",
        "--y-pred-rank",
        "3",
        "--out",
        tmp_path,
    )
    assert code == 0, err
    model = onnx.load(str(tmp_path / "update.onnx"))
    inputs = {value.name: value.type.tensor_type for value in model.graph.input}
    assert [entry.version for entry in model.opset_import] == [17]
    assert inputs["y_true"].elem_type == onnx.TensorProto.UINT8
    assert inputs["y_pred"].elem_type == onnx.TensorProto.FLOAT16
    assert len(inputs["y_true"].shape.dim) == 2
    assert [dim.dim_param for dim in inputs["y_pred"].shape.dim] == [
        "y_pred_0",
        "y_pred_1",
        "classes",
    ]


def test_exported_step_gives_hand_computed_iou(tmp_path, capsys):
    code, _, err = run_cli(
        capsys,
        "export",
        "IoU",
        "--num-classes",
        "3",
        "--target-class-ids",
        "0,2",
        "--ignore-class",
        "255",
        "--out",
        tmp_path,
    )
    assert code == 0, err
    session = ort.InferenceSession(str(tmp_path / "step.onnx"))
    feeds = {
        "y_true": np.array([[[0, 0, 1, 2, 255]]], dtype=np.int64),
        "y_pred": np.array([[[0, 1, 1, 2, 0]]], dtype=np.int64),
        "sample_weight": np.ones(1),
        "total_cm": np.zeros((3, 3)),
    }
    names = [output.name for output in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, feeds), strict=True))
    # Class 0: TP 1, FN 1 -> 1/2. Class 2: TP 1 -> 1. The 255 pair is ignored.
    assert float(outputs["result"]) == pytest.approx(0.75)
    assert float(outputs["ignored_weight"]) == 1.0
    assert float(outputs["dropped_weight"]) == 0.0


@pytest.mark.parametrize(
    "provider, kernel", [("cpu", "scatter"), ("tensorrt", "onehot_matmul")]
)
def test_export_provider_picks_kernel(tmp_path, capsys, provider, kernel):
    code, _, err = run_cli(
        capsys,
        "export",
        "MeanIoU",
        "--num-classes",
        "3",
        "--provider",
        provider,
        "--out",
        tmp_path,
    )
    assert code == 0, err
    meta = metadata(tmp_path / "step.onnx")
    assert meta["onnxiou.provider"] == provider
    assert meta["onnxiou.kernel"] == kernel
    assert json.loads(meta["onnxiou.config"])["kernel"] == "auto"
    session = ort.InferenceSession(str(tmp_path / "step.onnx"))
    feeds = {
        "y_true": np.array([[[0, 1, 2, 2]]], dtype=np.int64),
        "y_pred": np.array([[[0, 2, 2, 2]]], dtype=np.int64),
        "sample_weight": np.ones(1),
        "total_cm": np.zeros((3, 3)),
    }
    names = [output.name for output in session.get_outputs()]
    outputs = dict(zip(names, session.run(None, feeds), strict=True))
    # Class 0: 1/1. Class 1: 0/1. Class 2: 2/3.
    np.testing.assert_allclose(outputs["per_class_iou"], [1.0, 0.0, 2 / 3], rtol=1e-6)


@pytest.mark.parametrize("opset", range(16, 22))
def test_export_each_opset(tmp_path, capsys, opset):
    code, _, err = run_cli(
        capsys,
        "export",
        "MeanIoU",
        "--num-classes",
        "2",
        "--opset",
        opset,
        "--out",
        tmp_path,
    )
    assert code == 0, err
    for kind in KINDS:
        model = onnx.load(str(tmp_path / f"{kind}.onnx"))
        assert [entry.version for entry in model.opset_import] == [opset]


# -- info ------------------------------------------------------------------


@pytest.fixture
def voc_dir(tmp_path, capsys):
    code, _, err = run_cli(
        capsys,
        "export",
        "MeanIoU",
        "--num-classes",
        "21",
        "--ignore-class",
        "255",
        "--out",
        tmp_path,
    )
    assert code == 0, err
    return tmp_path


@pytest.mark.parametrize("kind", KINDS)
def test_info_json_round_trips_config(voc_dir, capsys, kind):
    path = voc_dir / f"{kind}.onnx"
    code, out, err = run_cli(capsys, "info", path, "--json")
    assert code == 0, err
    summary = json.loads(out)
    expected = onnxiou.MeanIoU(num_classes=21, ignore_class=255).get_config()
    assert summary["config"] == expected
    assert summary["file"] == str(path)
    assert summary["graph"] == kind
    assert summary["metric"] == "MeanIoU"
    assert summary["opset"] == 18
    assert summary["state_dtype"] == "float64"
    assert summary["state_shape"] == [21, 21]
    assert summary["num_classes"] == 21
    assert summary["kernel"] == "scatter"
    assert summary["onnxiou_version"] == onnxiou.__version__
    stored = {
        key: value
        for key, value in metadata(path).items()
        if key.startswith("onnxiou.")
    }
    assert summary["metadata"] == stored


def test_info_json_lists_ports(voc_dir, capsys):
    code, out, _ = run_cli(capsys, "info", voc_dir / "step.onnx", "--json")
    assert code == 0
    summary = json.loads(out)
    inputs = {port["name"]: port for port in summary["inputs"]}
    outputs = {port["name"]: port for port in summary["outputs"]}
    assert list(inputs) == ["y_true", "y_pred", "sample_weight", "total_cm"]
    assert list(outputs) == [
        "total_cm_out",
        "result",
        "per_class_iou",
        "dropped_weight",
        "ignored_weight",
    ]
    assert inputs["y_true"]["dtype"] == "int64"
    assert inputs["y_true"]["shape"] == ["y_true_0", "y_true_1", "y_true_2"]
    assert inputs["sample_weight"]["shape"] == ["weight_count"]
    assert inputs["total_cm"]["shape"] == [21, 21]
    assert outputs["result"]["dtype"] == "float32"
    assert outputs["result"]["shape"] == []
    assert outputs["per_class_iou"]["shape"] == [21]
    for port in [*inputs.values(), *outputs.values()]:
        assert port["doc"], port["name"]


def test_info_text(voc_dir, capsys):
    path = voc_dir / "step.onnx"
    code, out, err = run_cli(capsys, "info", path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"{path}: step graph of MeanIoU"
    assert "opset: 18" in lines
    assert "state: total_cm float64 [21, 21]" in lines
    assert "  y_true: int64 [y_true_0, y_true_1, y_true_2]" in lines
    assert "  per_class_iou: float32 [21]" in lines
    config_line = next(line for line in lines if line.startswith("config: "))
    expected = onnxiou.MeanIoU(num_classes=21, ignore_class=255).get_config()
    assert json.loads(config_line.removeprefix("config: ")) == expected


def foreign_model() -> onnx.ModelProto:
    node = onnx.helper.make_node("Identity", ["x"], ["y"])
    graph = onnx.helper.make_graph(
        [node],
        "identity",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])],
    )
    return onnx.helper.make_model(graph)


@pytest.mark.parametrize(
    "make_file, words",
    [
        (lambda tmp: tmp / "missing.onnx", "file not found"),
        (lambda tmp: tmp, "is a directory"),
        (lambda tmp: write(tmp / "text.onnx", b"# not a model\n"), "not an ONNX model"),
        (
            lambda tmp: write(tmp / "other.onnx", foreign_model().SerializeToString()),
            "exported by onnxiou",
        ),
    ],
)
@pytest.mark.parametrize("json_flag", [[], ["--json"]])
def test_info_rejects_unreadable_file(tmp_path, capsys, make_file, words, json_flag):
    path = make_file(tmp_path)
    code, out, err = run_cli(capsys, "info", path, *json_flag)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith(f"onnxiou: error: {path}: ")
    assert words in err


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


# -- invalid arguments ------------------------------------------------------


@pytest.mark.parametrize(
    "argv, words",
    [
        (
            ["MeanIoU", "--num-classes", "21", "--target-class-ids", "0,2"],
            ["MeanIoU does not take --target-class-ids"],
        ),
        (
            ["BinaryIoU", "--num-classes", "3"],
            ["BinaryIoU does not take --num-classes"],
        ),
        (
            [
                "OneHotIoU",
                "--num-classes",
                "3",
                "--target-class-ids",
                "0",
                "--dense-y-true",
            ],
            ["OneHotIoU does not take --dense-y-true"],
        ),
        (
            ["MeanIoU", "--num-classes", "3", "--threshold", "0.5"],
            ["MeanIoU does not take --threshold"],
        ),
        (["IoU", "--num-classes", "3"], ["IoU requires --target-class-ids"]),
        (["MeanIoU"], ["MeanIoU requires --num-classes"]),
        (["MeanIoU", "--num-classes", "0"], ["Expected --num-classes", "at least 1"]),
        (
            ["IoU", "--num-classes", "3", "--target-class-ids", "0,5"],
            ["Expected every value of --target-class-ids", "[0, 3)"],
        ),
        (
            ["MeanIoU", "--num-classes", "3", "--opset", "15"],
            ["Expected --opset", "[16, 21]", "15"],
        ),
        (
            ["MeanIoU", "--num-classes", "3", "--opset", "22"],
            ["Expected --opset", "[16, 21]", "22"],
        ),
        (
            ["MeanIoU", "--num-classes", "3", "--y-true-dtype", "float16"],
            ["Expected --y-true-dtype", "float16"],
        ),
        (
            ["MeanIoU", "--num-classes", "3", "--y-pred-rank", "-2"],
            ["Expected --y-pred-rank", "at least 0"],
        ),
        (
            ["OneHotMeanIoU", "--num-classes", "3", "--y-true-rank", "0"],
            ["Expected --y-true-rank", "class axis"],
        ),
        (["BinaryIoU", "--threshold", "inf"], ["Expected --threshold", "finite"]),
    ],
)
def test_export_invalid_value_one_line_error(tmp_path, capsys, argv, words):
    out_dir = tmp_path / "out"
    code, out, err = run_cli(capsys, "export", *argv, "--out", out_dir)
    assert code == 2
    assert out == ""
    assert err.startswith("onnxiou: error: ")
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert "`" not in err, "names a Python argument instead of a flag"
    for word in words:
        assert word in err
    assert not out_dir.exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["export", "Foo", "--num-classes", "3"], ["METRIC", "invalid choice"]),
        (["export", "MeanIoU", "--num-classes", "x"], ["--num-classes", "invalid int"]),
        (
            ["export", "IoU", "--num-classes", "3", "--target-class-ids", "a,b"],
            ["--target-class-ids", "comma-separated ints"],
        ),
        (
            ["export", "MeanIoU", "--num-classes", "3", "--opset", "high"],
            ["--opset", "invalid int"],
        ),
        (
            ["export", "MeanIoU", "--num-classes", "3", "--provider", "rocm"],
            ["--provider", "invalid choice"],
        ),
        (
            ["export", "MeanIoU", "--num-classes", "3", "--state-dtype", "int8"],
            ["--state-dtype", "invalid choice"],
        ),
        (
            [
                "export",
                "MeanIoU",
                "--num-classes",
                "3",
                "--dense-y-pred",
                "--sparse-y-pred",
            ],
            ["--sparse-y-pred", "not allowed"],
        ),
        (["export", "MeanIoU", "--num-classes", "3", "--out"], ["--out"]),
        (["info"], ["FILE"]),
        (["evaluate-all"], ["invalid choice"]),
        ([], ["COMMAND"]),
    ],
)
def test_syntax_error_names_argument(tmp_path, capsys, argv, words):
    if argv[:1] == ["export"] and "--out" not in argv:
        argv = [*argv, "--out", str(tmp_path / "out")]
    code, out, err = run_cli(capsys, *argv)
    assert code == 2
    assert out == ""
    last_line = err.splitlines()[-1]
    assert "error:" in last_line
    for word in words:
        assert word in last_line


def test_export_missing_out_is_error(capsys):
    code, _, err = run_cli(capsys, "export", "MeanIoU", "--num-classes", "3")
    assert code == 2
    assert "--out" in err.splitlines()[-1]


# -- entry points ----------------------------------------------------------


def test_subcommand_table_builds_parser():
    parser = build_parser()
    subparsers = next(action for action in parser._actions if action.dest == "command")
    assert set(SUBCOMMANDS) <= set(subparsers.choices)
    assert {"export", "info"} <= set(SUBCOMMANDS)


def test_module_entry_point(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "onnxiou.cli",
            "export",
            "BinaryIoU",
            "--target-class-ids",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    completed = subprocess.run(
        [sys.executable, "-m", "onnxiou.cli", "info", str(tmp_path / "step.onnx")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.startswith(
        f"{tmp_path / 'step.onnx'}: step graph of BinaryIoU"
    )


def test_module_entry_point_error_has_no_traceback(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "onnxiou.cli",
            "export",
            "MeanIoU",
            "--num-classes",
            "3",
            "--opset",
            "22",
            "--out",
            str(tmp_path / "out"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("onnxiou: error: ")
    assert completed.stderr.count("\n") == 1
    assert "opset" in completed.stderr


def cli_process(*argv: str, code: str | None = None) -> subprocess.Popen:
    """Start ``python -m onnxiou.cli argv``, or ``python -c code``, in the repo."""
    command = ["-c", code] if code is not None else ["-m", "onnxiou.cli", *argv]
    return subprocess.Popen(
        [sys.executable, *command],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.skipif(sys.platform == "win32", reason="tests POSIX pipe semantics")
@pytest.mark.parametrize("command", ["info", "export"])
def test_closed_stdout_exits_quietly(tmp_path, command):
    if command == "info":
        argv = ["info", str(REPO_ROOT / "models" / "voc21" / "step.onnx")]
    else:
        argv = ["export", "MeanIoU", "--num-classes", "3", "--out", str(tmp_path)]
    process = cli_process(*argv)
    # Closing the read end before the interpreter has even started makes the
    # first write fail with EPIPE, as it does after ``| head -1`` has exited.
    process.stdout.close()
    err = process.stderr.read()

    assert process.wait() == 141
    assert err == ""


@pytest.mark.parametrize(
    "argv,absent",
    [
        (["--version"], ["onnx", "onnxscript", "onnxiou.export"]),
        (
            ["info", str(REPO_ROOT / "models" / "voc21" / "step.onnx")],
            ["onnxscript", "onnxiou.export", "onnxiou.graph.model"],
        ),
    ],
)
def test_light_commands_skip_heavy_imports(argv, absent):
    code = (
        "import sys\n"
        "from onnxiou.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        f"loaded = [name for name in {absent!r} if name in sys.modules]\n"
        "print(loaded, file=sys.stderr)\n"
    )
    process = cli_process(code=code)
    _, err = process.communicate(timeout=120)

    assert process.returncode == 0, err
    assert err.strip().splitlines()[-1] == "[]"


def test_export_too_many_classes_for_memory(tmp_path, capsys):
    # 2**24 classes make a 2**51-byte (2 PiB) float64 matrix, more than a
    # 48-bit address space holds. Export needs the matrix only if the metric
    # allocates its state on construction, so success is a valid outcome.
    out_dir = tmp_path / "out"
    code, out, err = run_cli(
        capsys, "export", "MeanIoU", "--num-classes", str(2**24), "--out", out_dir
    )

    if code == 0:
        assert sorted(path.name for path in out_dir.iterdir()) == [
            "result.onnx",
            "step.onnx",
            "update.onnx",
        ]
        return
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("onnxiou: error: out of memory: with --num-classes 16777216")
    assert f"needs {2**51 / 2**30:.1f} GiB" in err


def test_memory_message_from_numpy_error():
    with pytest.raises(MemoryError) as caught:
        np.zeros((2**24, 2**24), dtype=np.float32)
    args = argparse.Namespace(num_classes=None)

    message = memory_message(args, caught.value)

    # 2**48 cells of 4 bytes are 2**50 bytes, 2**20 GiB.
    assert message == (
        "out of memory: allocating an array of shape (16777216, 16777216) and "
        f"dtype float32 ({2**20:.1f} GiB) failed"
    )


def test_name_flags_replaces_known_names():
    message = "Expected argument `opset` to be 18, and `y_pred` and `other` too."

    replaced = name_flags(message, {"opset": "--opset", "y_pred": "PREDICTIONS"})

    assert replaced == "Expected --opset to be 18, and PREDICTIONS and `other` too."
