"""Smoke test of tools/bench.py: a --quick run writes reports that parse.

The run times whichever peers are installed; the checks below rely only
on onnxiou and numpy, which every test environment has.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH = REPO_ROOT / "tools" / "bench.py"
DEFAULT = "onnxiou MeanIoU (default)"


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bench")
    completed = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        cwd=REPO_ROOT,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def report(quick_run) -> dict:
    return json.loads((quick_run / "benchmarks.json").read_text())


def test_bench_writes_both_reports(quick_run):
    assert (quick_run / "benchmarks.json").is_file()
    assert (quick_run / "benchmarks.md").is_file()


def test_bench_json_names_machine_and_versions(report):
    assert report["quick"] is True
    assert report["machine"]["logical_cores"] >= 1
    assert report["machine"]["cpu"]
    assert "onnxruntime" in report["versions"]
    assert "numpy" in report["versions"]
    assert report["command"].startswith("python tools/bench.py")


def test_bench_times_onnxiou_and_numpy(report):
    rows = [row for row in report["results"] if "ms" in row]
    onnxiou_rows = [row for row in rows if row["contender"] == DEFAULT]
    numpy_rows = [row for row in rows if row["contender"] == "numpy bincount"]
    assert onnxiou_rows
    assert len(numpy_rows) == len(onnxiou_rows)
    for row in onnxiou_rows:
        assert row["ms"] > 0
        assert row["pixels_per_s"] > 0
        assert row["ratio_to_numpy"] > 0


def test_bench_onnxiou_matrices_match_numpy(report):
    for row in report["results"]:
        if row["contender"].startswith("onnxiou") and "ms" in row:
            assert row["matches_baseline"], row


def test_bench_covers_labels_and_logits(report):
    rows = [row for row in report["results"] if row["contender"] == DEFAULT]
    kinds = {row["pred_kind"] for row in rows}
    assert kinds == {"labels", "logits_nhwc"}
    dtypes = {row["label_dtype"] for row in report["results"]}
    assert dtypes == {"int64", "uint8"}


def test_bench_memory_probe_rows(report):
    rows = [row for row in report["memory"] if row["contender"] == DEFAULT]
    assert rows
    for row in rows:
        assert "error" not in row, row
        assert row["peak_extra_bytes"] >= 0
        assert row["input_bytes"] == 2 * 65_536 * 8


def test_bench_targets_are_checked(report):
    targets = {check["target"] for check in report["targets"]}
    assert {"small", "memory", "cold"} <= targets
    for check in report["targets"]:
        assert check["met"] == (check["measured"] <= check["limit"])


def test_bench_markdown_has_tables(quick_run):
    text = (quick_run / "benchmarks.md").read_text()
    assert text.startswith("# Benchmarks")
    assert "## Targets" in text
    assert "## int64 labels, class-id predictions" in text
    assert f"| 21 | 65536 | {DEFAULT} |" in text
    assert "## Peak extra memory" in text
