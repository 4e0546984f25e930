"""Memory probes and the cold-start measurement of tools/bench.py.

Peak memory is the growth of the resident set's high-water mark (VmHWM in
``/proc/self/status``) over two update calls, measured in a fresh
subprocess per contender and size, because tracemalloc cannot see
onnxruntime's or XLA's allocations. Linux only: the probe resets the mark
through ``/proc/self/clear_refs``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

from bench_contenders import Contender, contender_named, make_case

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent / "bench.py"


def read_status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field} line")


def probe_memory(name: str, classes: int, pixels: int, label_dtype: str, kind: str):
    """Print the peak extra resident memory of two full-size updates, as JSON."""
    contender = contender_named(name)
    case = make_case(classes, pixels, label_dtype, kind)
    update, _ = contender.make(case)
    warm_update, _ = contender.make(make_case(classes, 16, label_dtype, kind))
    warm_update()
    Path("/proc/self/clear_refs").write_text("5")
    before_kb = read_status_kb("VmRSS")
    update()
    update()
    peak_kb = read_status_kb("VmHWM")
    extra = max(0, peak_kb - before_kb) * 1024
    print(json.dumps({"peak_extra_bytes": extra, "input_bytes": case.input_bytes}))


def memory_row(python: str, contender: Contender, case_key: tuple) -> dict:
    classes, pixels, label_dtype, kind = case_key
    command = [
        python,
        str(BENCH),
        "--memory-probe",
        contender.name,
        str(classes),
        str(pixels),
        label_dtype,
        kind,
    ]
    row = {
        "contender": contender.name,
        "classes": classes,
        "pixels": pixels,
        "label_dtype": label_dtype,
        "pred_kind": kind,
    }
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        row["error"] = completed.stderr.strip().splitlines()[-1:] or ["failed"]
        return row
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    row.update(result)
    row["ratio_to_input"] = result["peak_extra_bytes"] / result["input_bytes"]
    return row


def measure_memory(grid, contenders: list[Contender], progress) -> list[dict]:
    """Probe each contender at the grid's memory sizes; return the rows."""
    rows = []
    for kind in grid.memory_kinds:
        for pixels in grid.memory_pixels:
            key = (grid.memory_classes, pixels, "int64", kind)
            for contender in contenders:
                if "onehot_matmul" in contender.name and pixels > 2**20:
                    continue
                progress(f"memory {contender.name} {key}")
                rows.append(memory_row(sys.executable, contender, key))
    return rows


COLD_SCRIPT = """
import time
start = time.perf_counter()
import onnxiou
metric = onnxiou.MeanIoU(21)
metric.result()
print(time.perf_counter() - start)
"""


def measure_cold_start(runs: int) -> dict:
    """Seconds from a fresh interpreter's ``import onnxiou`` to a first result()."""
    timings = []
    for _ in range(runs):
        completed = subprocess.run(
            [sys.executable, "-c", COLD_SCRIPT],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO_ROOT,
        )
        timings.append(float(completed.stdout.strip().splitlines()[-1]))
    return {"median_s": statistics.median(timings), "runs_s": timings}
