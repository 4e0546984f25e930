"""Export the golden cases, or models/, again with a provider profile.

tools/old_runtimes.py and tools/gpu_check.py replay these exports with
tools/replay_graphs.py. Each case folder is exported again from the
metadata of its ``update.onnx`` (the metric's configuration) with the same
opset, input dtypes and ranks, and its ``case.json`` is copied, so the
expected numbers stay those of the catalogue.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import onnx

TOOLS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TOOLS_DIR.parent
GOLDEN_DIR = REPO_ROOT / "tests" / "golden"
MODELS_DIR = REPO_ROOT / "models"

# Import the onnxiou of this checkout.
sys.path.insert(0, str(REPO_ROOT))

from onnxiou.export import export, load_metric  # noqa: E402


def source_folders() -> list[Path]:
    """Return the golden catalogue's case folders, or models/ when there is none."""
    index = GOLDEN_DIR / "index.json"
    if index.is_file():
        ids = json.loads(index.read_text(encoding="utf-8"))["cases"]
        return [GOLDEN_DIR / case_id for case_id in ids]
    return sorted(path.parent for path in MODELS_DIR.glob("*/update.onnx"))


def export_options(update_path: Path) -> dict[str, Any]:
    """Read the opset, input dtypes and ranks an update graph was exported with."""
    model = onnx.load(str(update_path), load_external_data=False)
    opset = next(entry.version for entry in model.opset_import if entry.domain == "")
    inputs = {value.name: value.type.tensor_type for value in model.graph.input}

    def dtype(name: str) -> str:
        return onnx.helper.tensor_dtype_to_np_dtype(inputs[name].elem_type).name

    return {
        "opset": opset,
        "y_true_dtype": dtype("y_true"),
        "y_pred_dtype": dtype("y_pred"),
        "y_true_rank": len(inputs["y_true"].shape.dim),
        "y_pred_rank": len(inputs["y_pred"].shape.dim),
    }


def export_case(folder: Path, target: Path, profile: str) -> dict[str, Any]:
    """Export ``folder``'s case into ``target`` with ``profile``; return its options."""
    options = export_options(folder / "update.onnx")
    metric = load_metric(folder / "update.onnx")
    export(metric, target, provider=profile, **options)
    if (folder / "case.json").is_file():
        shutil.copy(folder / "case.json", target / "case.json")
    return options
