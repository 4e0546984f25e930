"""Write a tools/bench.py run as docs/benchmarks.json and docs/benchmarks.md.

The Markdown page has one table per input kind, the memory probes and
the cold start. Its target table is computed from the run's numbers, so
the page states a target as met only when that run met it.
"""

from __future__ import annotations

import json
from pathlib import Path

DEFAULT = "onnxiou MeanIoU (default)"
BASELINE = "numpy bincount"
TORCH_FAST = "torchmetrics MulticlassJaccardIndex (validate_args=False)"
MEGA = 2**20
KIND_TITLES = {
    "labels": "class-id predictions (same dtype as the labels)",
    "logits_nhwc": "float32 logits, class axis last `[1, H, W, C]`",
    "logits_nchw": "float32 logits, class axis 1 `[1, C, H, W]`",
}

# Explanations of missed targets in terms of measured parts, shown only for
# a target that the run missed.
TARGET_NOTES = {
    "bincount": (
        "The scatter-add alone, onnxruntime's ScatterElements, takes longer "
        "than np.bincount on the same indices (see the floor table), and "
        "int64 labels need four clipping passes of 8 bytes per pixel before "
        "it. uint8 labels are clipped in int32 and beat numpy, whose int64 "
        "casts cost more."
    ),
    "torchmetrics": (
        "With validate_args=False torchmetrics runs no range mask: it "
        "computes target * C + preds and torch.bincount, so out-of-range "
        "labels corrupt its matrix. onnxiou clips both labels and counts "
        "dropped and ignored pairs, and its scatter-add is slower than "
        "torch.bincount."
    ),
    "logits": (
        "At 150 classes most of the update is the argmax over the class "
        "axis (onnxruntime's ArgMax against torch.argmax), which no change "
        "to the rest of the graph removes."
    ),
    "small": (
        "A 16-pixel call is dominated by fixed costs: input validation in "
        "Python and one onnxruntime run of about 30 nodes. At 150 classes "
        "each call also copies and slices the 152 x 152 buffer several times."
    ),
    "memory": (
        "For int64 labels the graph holds an int64 cell index and a float64 "
        "weight per pixel while it scatters (16 of the 16 input bytes per "
        "pixel), plus clipping intermediates that onnxruntime's memory "
        "arena keeps."
    ),
    "cold": (
        "`import onnxiou` alone takes about 0.3 s. Building the first graph "
        "imports onnx and onnxscript, and importing onnx imports ml_dtypes, "
        "whose extension module takes most of that time (measure with "
        "python -X importtime -c 'import onnx')."
    ),
}


def write_reports(report: dict, out: Path) -> list[Path]:
    """Write ``benchmarks.json`` and ``benchmarks.md`` into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    report = {**report, "targets": evaluate_targets(report)}
    json_path = out / "benchmarks.json"
    json_path.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n")
    md_path = out / "benchmarks.md"
    md_path.write_text(render_markdown(report))
    return [json_path, md_path]


# -- targets ---------------------------------------------------------------


def find(rows: list[dict], **fields) -> dict | None:
    for row in rows:
        if all(row.get(key) == value for key, value in fields.items()):
            return row
    return None


def ratio_check(rows, name, limit, other, **fields) -> dict | None:
    """Compare the default onnxiou time to ``other``'s on one cell."""
    mine = find(rows, contender=DEFAULT, **fields)
    theirs = find(rows, contender=other, **fields)
    if not mine or not theirs or "ms" not in mine or "ms" not in theirs:
        return None
    value = round(mine["ms"] / theirs["ms"], 3)
    cell = ", ".join(f"{key} {text}" for key, text in fields.items())
    return {
        "target": name,
        "cell": cell,
        "measured": value,
        "limit": limit,
        "unit": f"x {other}",
        "met": value <= limit,
    }


def evaluate_targets(report: dict) -> list[dict]:
    """Check the performance targets against this run's numbers."""
    rows = report["results"]
    checks = []
    for dtype in ("int64", "uint8"):
        for classes in (2, 21, 150):
            cell = dict(classes=classes, pixels=MEGA, label_dtype=dtype)
            cell["pred_kind"] = "labels"
            checks.append(ratio_check(rows, "bincount", 1.0, BASELINE, **cell))
            limit = 1.0 if classes == 2 else 0.67
            checks.append(ratio_check(rows, "torchmetrics", limit, TORCH_FAST, **cell))
    for kind in ("logits_nhwc", "logits_nchw"):
        for classes in (2, 21, 150):
            cell = dict(classes=classes, pixels=MEGA, label_dtype="int64")
            cell["pred_kind"] = kind
            checks.append(ratio_check(rows, "logits", 0.5, TORCH_FAST, **cell))
    checks.extend(small_checks(rows))
    checks.extend(memory_checks(report.get("memory", [])))
    checks.append(cold_check(report.get("cold_start")))
    return [check for check in checks if check is not None]


def small_checks(rows: list[dict]) -> list[dict]:
    checks = []
    for row in rows:
        if row["contender"] != DEFAULT or row["pixels"] != 16 or "ms" not in row:
            continue
        if row["pred_kind"] != "labels":
            continue
        micros = round(row["ms"] * 1e3, 1)
        checks.append(
            {
                "target": "small",
                "cell": f"classes {row['classes']}, label_dtype {row['label_dtype']}",
                "measured": micros,
                "limit": 30,
                "unit": "us per call",
                "met": micros <= 30,
            }
        )
    return checks


def memory_checks(memory: list[dict]) -> list[dict]:
    checks = []
    for row in memory:
        if row["contender"] != DEFAULT or "ratio_to_input" not in row:
            continue
        ratio = round(row["ratio_to_input"], 2)
        checks.append(
            {
                "target": "memory",
                "cell": f"{row['pred_kind']}, {row['pixels']} pixels",
                "measured": ratio,
                "limit": 2.0,
                "unit": "x input bytes",
                "met": ratio <= 2.0,
            }
        )
    return checks


def cold_check(cold: dict | None) -> dict | None:
    if not cold:
        return None
    seconds = round(cold["median_s"], 3)
    return {
        "target": "cold",
        "cell": "import onnxiou + MeanIoU(21).result()",
        "measured": seconds,
        "limit": 1.0,
        "unit": "s",
        "met": seconds <= 1.0,
    }


# -- Markdown --------------------------------------------------------------

TARGET_TITLES = {
    "bincount": "update time <= 1.0x numpy bincount (1M pixels, class-id input)",
    "torchmetrics": (
        "update time <= 0.67x torchmetrics, validate_args=False "
        "(<= 1.0x at 2 classes; 1M pixels, class-id input)"
    ),
    "logits": "logits update <= 0.5x torchmetrics' logits path (1M pixels)",
    "small": "<= 30 us per call for 16-pixel batches",
    "memory": "peak extra memory <= 2x the input bytes",
    "cold": "import onnxiou + first result() of a new metric < 1 s",
}


def format_ms(ms: float) -> str:
    if ms < 0.1:
        return f"{ms * 1e3:.1f} us"
    return f"{ms:.3g} ms" if ms < 100 else f"{ms:.0f} ms"


def format_rate(pixels_per_s: float) -> str:
    return f"{pixels_per_s / 1e6:.3g}"


def header(report: dict) -> list[str]:
    machine = report["machine"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `tools/bench.py`; rerun it to refresh this page and",
        "`benchmarks.json`. Numbers are wall-clock medians of repeated",
        "update calls on one machine that other jobs may share, so compare",
        "the contenders of one run with each other rather than across runs.",
        "",
        f"- Command: `{report['command']}`",
        f"- Date: {report['date']} ({report['duration_s']} s)",
        f"- CPU: {machine['cpu']}, {machine['logical_cores']} logical cores",
        f"- Platform: {machine['platform']}, Python {machine['python']}",
        "- Versions: "
        + ", ".join(f"{k} {v}" for k, v in sorted(report["versions"].items())),
        "- Threads: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(report["threads"].items())),
        "",
        "Each contender starts from an empty state and adds the same batch",
        "per call: labels `[1, H, W]` uniform in `[0, C)` and either class-id",
        "predictions or float32 logits. numpy bincount casts to int64, masks",
        "out-of-range pairs, computes `y_true * C + y_pred` and calls",
        "`np.bincount`, all inside the timed call (plus `np.argmax` for",
        "logits). `x numpy` is the ratio of median times (lower is faster).",
        "`same cm` says whether the contender's confusion matrix equals",
        "numpy's after one call.",
        "",
    ]
    return lines


def target_section(report: dict) -> list[str]:
    lines = [
        "## Targets",
        "",
        "| target | cell | measured | limit | met |",
        "|---|---|---|---|---|",
    ]
    missed = []
    for check in report["targets"]:
        met = "yes" if check["met"] else "**no**"
        lines.append(
            f"| {TARGET_TITLES[check['target']]} | {check['cell']} | "
            f"{check['measured']} {check['unit']} | {check['limit']} | {met} |"
        )
        if not check["met"] and check["target"] not in missed:
            missed.append(check["target"])
    lines.append("")
    if missed:
        lines.append("Why the missed targets miss:")
        lines.append("")
        for name in missed:
            lines.append(f"- {TARGET_TITLES[name]}: {TARGET_NOTES[name]}")
        lines.append("")
    return lines


def kind_tables(report: dict) -> list[str]:
    lines = []
    rows = report["results"]
    kinds = sorted({(r["pred_kind"], r["label_dtype"]) for r in rows})
    for kind, dtype in kinds:
        lines += [
            f"## {dtype} labels, {KIND_TITLES[kind]}",
            "",
            "| classes | pixels | contender | ms per call | Mpixel/s | x numpy "
            "| same cm |",
            "|---:|---:|---|---:|---:|---:|---|",
        ]
        for row in rows:
            if (row["pred_kind"], row["label_dtype"]) != (kind, dtype):
                continue
            lines.append(result_line(row))
        lines.append("")
    return lines


def result_line(row: dict) -> str:
    cells = [str(row["classes"]), str(row["pixels"]), row["contender"]]
    if "ms" not in row:
        reason = row.get("skipped", "not timed")
        return "| " + " | ".join(cells + [f"skipped: {reason}", "", "", ""]) + " |"
    ratio = row.get("ratio_to_numpy")
    cells += [
        format_ms(row["ms"]),
        format_rate(row["pixels_per_s"]),
        f"{ratio:.2f}" if ratio is not None else "",
        "yes" if row.get("matches_baseline") else "**no**",
    ]
    return "| " + " | ".join(cells) + " |"


def memory_section(report: dict) -> list[str]:
    memory = report.get("memory") or []
    if not memory:
        return []
    lines = [
        "## Peak extra memory",
        "",
        "Resident-set high-water growth over two full-size update calls, in",
        "a fresh subprocess per contender and size (int64 labels, "
        f"{memory[0]['classes']} classes), after a warm-up call on 16 pixels.",
        "`x input` divides it by the bytes of `y_true` plus `y_pred`.",
        "",
        "| input | pixels | contender | peak extra MiB | x input |",
        "|---|---:|---|---:|---:|",
    ]
    for row in memory:
        if "peak_extra_bytes" not in row:
            error = " ".join(row.get("error", ["failed"]))
            lines.append(
                f"| {row['pred_kind']} | {row['pixels']} | {row['contender']} "
                f"| failed: {error} | |"
            )
            continue
        lines.append(
            f"| {row['pred_kind']} | {row['pixels']} | {row['contender']} | "
            f"{row['peak_extra_bytes'] / MEGA:.1f} | {row['ratio_to_input']:.2f} |"
        )
    lines.append("")
    return lines


def floor_section(report: dict) -> list[str]:
    floors = report.get("floors") or []
    if not floors:
        return []
    lines = [
        "## Floors",
        "",
        "Single operations timed the same way, for reading the tables above.",
        "",
        "| operation | pixels | ms per call |",
        "|---|---:|---:|",
    ]
    for floor in floors:
        timing = format_ms(floor["ms"])
        lines.append(f"| {floor['name']} | {floor['pixels']} | {timing} |")
    lines.append("")
    return lines


def cold_section(report: dict) -> list[str]:
    cold = report.get("cold_start")
    if not cold:
        return []
    runs = ", ".join(f"{value:.2f}" for value in cold["runs_s"])
    return [
        "## Cold start",
        "",
        "A fresh interpreter runs `import onnxiou`, `MeanIoU(21)` and",
        f"`result()`: median {cold['median_s']:.2f} s (runs: {runs} s).",
        "",
    ]


def skipped_section(report: dict) -> list[str]:
    lines = []
    missing = report.get("missing_contenders") or []
    skipped = report.get("skipped_cases") or []
    if not missing and not skipped:
        return lines
    lines += ["## Not measured", ""]
    lines += [f"- {entry['contender']}: {entry['reason']}" for entry in missing]
    for entry in skipped:
        classes, pixels, dtype, kind = entry["case"]
        lines.append(
            f"- {kind}, {dtype} labels, {classes} classes, {pixels} pixels: "
            f"{entry['reason']}"
        )
    lines += [
        "- onnxiou MeanIoU onehot_matmul: cells above 1M pixels x 21 classes "
        "(its time grows with pixels x classes)",
        "",
    ]
    return lines


def render_markdown(report: dict) -> str:
    lines = header(report)
    lines += target_section(report)
    lines += cold_section(report)
    lines += kind_tables(report)
    lines += memory_section(report)
    lines += floor_section(report)
    lines += skipped_section(report)
    return "\n".join(lines).rstrip() + "\n"
