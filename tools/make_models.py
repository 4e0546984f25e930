"""Regenerate the prebuilt graphs in ``models/`` and ``models/manifest.json``.

Each entry of ``MODELS`` becomes ``models/NAME/{update,result,step}.onnx``,
exported at opset 18 with the default input types: int64 class ids of rank
3 (``[batch, height, width]``), and float32 scores for BinaryIoU. The
manifest lists each entry's configuration, input dtypes and ranks, opset
and the sha256 of every file. Exports are deterministic, so a rerun with
the same onnxiou, onnx and onnxscript versions writes identical bytes::

    python tools/make_models.py           # rewrite models/
    python tools/make_models.py --check   # exit 1 if models/ is stale

NOTE: another onnx or onnxscript version may serialize the same graphs
differently, and then ``--check`` reports the files as stale.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = REPO_ROOT / "models"
MANIFEST = "manifest.json"
OPSET = 18

# Import the onnxiou of this checkout, which the committed graphs must match.
sys.path.insert(0, str(REPO_ROOT))

from onnxiou import METRICS  # noqa: E402
from onnxiou._version import __version__  # noqa: E402
from onnxiou.export import default_dtypes, default_ranks, to_model  # noqa: E402
from onnxiou.graph.model import GRAPH_KINDS  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Entry:
    """One prebuilt configuration: the metric class, its arguments and use."""

    metric: str
    arguments: dict[str, Any]
    description: str


MODELS = {
    "binary_foreground": Entry(
        "BinaryIoU",
        {"target_class_ids": [1], "threshold": 0.5},
        "IoU of the foreground (class 1) of binary masks. y_pred holds "
        "scores, and a pixel is foreground where float32(y_pred) >= 0.5.",
    ),
    "voc21": Entry(
        "MeanIoU",
        {"num_classes": 21, "ignore_class": 255},
        "PASCAL VOC: background and 20 object classes. 255 marks void "
        "pixels, which are ignored.",
    ),
    "cityscapes19": Entry(
        "MeanIoU",
        {"num_classes": 19, "ignore_class": 255},
        "Cityscapes: the 19 evaluation classes as train ids 0-18. 255 marks "
        "pixels excluded from evaluation, which are ignored.",
    ),
    "ade150": Entry(
        "MeanIoU",
        {"num_classes": 150},
        "ADE20K scene parsing: the 150 classes as ids 0-149 (the annotation's "
        "1-150 minus 1). Any other label, such as the unlabeled class after "
        "that shift, is dropped and counted in dropped_weight.",
    ),
}


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_entry(name: str, entry: Entry) -> tuple[dict[str, bytes], dict[str, Any]]:
    """Build the three files of one entry (path -> bytes) and its manifest record."""
    metric = METRICS[entry.metric](**entry.arguments)
    files = {}
    for kind in GRAPH_KINDS:
        model = to_model(metric, kind, opset=OPSET)
        files[f"{name}/{kind}.onnx"] = model.SerializeToString(deterministic=True)
    stored = {prop.key: prop.value for prop in model.metadata_props}
    y_true_dtype, y_pred_dtype = default_dtypes(metric)
    y_true_rank, y_pred_rank = default_ranks(metric)
    spec = metric.spec
    record = {
        "metric": entry.metric,
        "description": entry.description,
        "config": metric.get_config(),
        "opset": OPSET,
        "kernel": stored["onnxiou.kernel"],
        "provider": stored.get("onnxiou.provider"),
        "num_classes": spec.num_classes,
        "state": {"dtype": spec.state_dtype, "shape": list(spec.state_shape)},
        "inputs": {
            "y_true": {"dtype": y_true_dtype, "rank": y_true_rank},
            "y_pred": {"dtype": y_pred_dtype, "rank": y_pred_rank},
            "sample_weight": {"dtype": spec.state_dtype, "rank": 1},
        },
        "files": {path: sha256(data) for path, data in files.items()},
    }
    return files, record


def build_all() -> dict[str, bytes]:
    """Build every file of ``models/``, manifest included, as path -> bytes."""
    files: dict[str, bytes] = {}
    records = {}
    for name, entry in MODELS.items():
        entry_files, records[name] = build_entry(name, entry)
        files.update(entry_files)
    manifest = {"onnxiou_version": __version__, "models": records}
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    files[MANIFEST] = text.encode("utf-8")
    return files


def stale_files(directory: Path, expected: dict[str, bytes]) -> list[str]:
    """List the files of ``directory`` that are missing, differ or are unexpected."""
    problems = []
    for path, data in sorted(expected.items()):
        target = directory / path
        if not target.is_file():
            problems.append(f"missing: {target}")
        elif target.read_bytes() != data:
            problems.append(f"out of date: {target}")
    for target in sorted(directory.rglob("*")):
        relative = target.relative_to(directory).as_posix()
        if target.is_file() and relative not in expected:
            problems.append(f"not generated by this script (delete it): {target}")
    return problems


def write_all(directory: Path, files: dict[str, bytes]) -> None:
    for path, data in files.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing, and exit 1 if any file differs from a fresh export",
    )
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=DEFAULT_DIR,
        help=f"directory of the prebuilt graphs (default {DEFAULT_DIR})",
    )
    args = parser.parse_args(argv)
    files = build_all()
    if not args.check:
        write_all(args.models_dir, files)
        print(f"wrote {len(files)} files to {args.models_dir}")
    problems = stale_files(args.models_dir, files)
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems and args.check:
        print("Regenerate them with: python tools/make_models.py", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
