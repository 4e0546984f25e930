"""Benchmark onnxiou's MeanIoU update against other confusion-matrix IoUs on CPU.

One process generates every input once and times each contender on the
same arrays: a warm-up call, then repeated calls whose median is reported.
The contenders of one grid cell are timed in turns (round robin), so a
burst of load from other processes hits all of them alike. Reported per
cell: milliseconds per update call, pixels per second, the ratio to the
numpy ``np.bincount`` baseline (index arithmetic and masking included)
and the peak extra memory of a call.

Peak memory is the growth of the resident set's high-water mark (VmHWM in
``/proc/self/status``) over a call, measured in a fresh subprocess per
contender and size, because tracemalloc cannot see onnxruntime's or
XLA's allocations. Each probe creates its inputs and metric, warms up on a
16-pixel batch, resets the high-water mark through
``/proc/self/clear_refs``, runs two full-size updates and reports
``VmHWM - VmRSS`` from before them. Memory an allocator keeps from the
first call counts, and so does jax's compilation for the new shape.

Peers are optional: a contender whose package is missing is skipped.
``--quick`` runs a small grid with few repeats for CI smoke tests::

    python tools/bench.py                     # full grid into docs/
    python tools/bench.py --quick --out /tmp/bench
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Set before any contender imports keras or jax.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import numpy as np  # noqa: E402

# Keras on jax warns on every int64 input that jax truncates it to int32.
warnings.filterwarnings("ignore", message="Explicitly requested dtype")

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bench_contenders import (  # noqa: E402
    BASELINE,
    CONTENDERS,
    Case,
    Contender,
    Skip,
    available,
    logits_bytes,
    make_case,
    package_version,
)
from bench_memory import measure_cold_start, measure_memory, probe_memory  # noqa: E402
from bench_report import write_reports  # noqa: E402

PRED_KINDS = ("labels", "logits_nhwc", "logits_nchw")


@dataclasses.dataclass(frozen=True)
class Grid:
    """The cells to time and how hard to time them."""

    classes: tuple[int, ...]
    pixels: tuple[int, ...]
    label_dtypes: tuple[str, ...]
    pred_kinds: tuple[str, ...]
    min_repeats: int
    max_repeats: int
    budget_s: float
    memory_pixels: tuple[int, ...]
    memory_kinds: tuple[str, ...]
    memory_classes: int
    cold_runs: int


FULL = Grid(
    classes=(2, 21, 150),
    pixels=(16, 65_536, 2**20, 2**22),
    label_dtypes=("int64", "uint8"),
    pred_kinds=PRED_KINDS,
    min_repeats=7,
    max_repeats=101,
    budget_s=1.5,
    memory_pixels=(65_536, 2**20, 2**22),
    memory_kinds=("labels", "logits_nhwc"),
    memory_classes=21,
    cold_runs=3,
)
QUICK = Grid(
    classes=(2, 21),
    pixels=(16, 65_536),
    label_dtypes=("int64", "uint8"),
    pred_kinds=("labels", "logits_nhwc"),
    min_repeats=3,
    max_repeats=7,
    budget_s=0.1,
    memory_pixels=(65_536,),
    memory_kinds=("labels",),
    memory_classes=21,
    cold_runs=1,
)


# -- timing ----------------------------------------------------------------


@dataclasses.dataclass
class Series:
    """Timings of one contender on one case."""

    contender: str
    update: Callable[[], Any]
    calls_per_sample: int = 1
    samples: list[float] = dataclasses.field(default_factory=list)

    def sample(self) -> None:
        start = time.perf_counter()
        for _ in range(self.calls_per_sample):
            self.update()
        self.samples.append((time.perf_counter() - start) / self.calls_per_sample)


def calibrate(series: Series, budget_s: float) -> float:
    """Warm up, size the inner loop to at least 2 ms, return one call's time."""
    start = time.perf_counter()
    series.update()
    first = time.perf_counter() - start
    start = time.perf_counter()
    series.update()
    second = time.perf_counter() - start
    per_call = max(min(first, second), 1e-7)
    series.calls_per_sample = max(1, min(1000, int(0.002 / per_call)))
    return per_call * series.calls_per_sample


def time_case(case: Case, makers: list[Contender], grid: Grid) -> list[dict]:
    """Time every contender on ``case``, interleaved, and return result rows."""
    rows, active = prepare_series(case, makers)
    sample_cost = {id(s): calibrate(s, grid.budget_s) for _, s in active}
    slowest = max(sample_cost.values(), default=0.0)
    repeats = int(grid.budget_s / max(slowest, 1e-9))
    repeats = max(grid.min_repeats, min(grid.max_repeats, repeats))
    for _ in range(repeats):
        for _, series in active:
            spent = sample_cost[id(series)] * len(series.samples)
            if len(series.samples) < 3 or spent <= 4 * grid.budget_s:
                series.sample()
    for row, series in active:
        fill_timing(row, series, case.pixels)
    add_ratios(rows)
    return rows


def prepare_series(case: Case, makers: list[Contender]):
    """Build each contender, check its matrix against the first one's.

    Returns the result rows and the ``(row, Series)`` pairs to time.
    """
    rows, active = [], []
    reference = None
    for contender in makers:
        row = base_row(case, contender.name)
        try:
            update, matrix = contender.make(case)
            update()
            observed = np.asarray(matrix(), dtype=np.float64)
        except Skip as skip:
            rows.append({**row, "skipped": str(skip)})
            continue
        if reference is None:
            reference = observed
        row["matches_baseline"] = bool(np.array_equal(observed, reference))
        rows.append(row)
        active.append((row, Series(contender.name, update)))
    return rows, active


def base_row(case: Case, name: str) -> dict:
    return {
        "contender": name,
        "classes": case.classes,
        "pixels": case.pixels,
        "label_dtype": case.label_dtype,
        "pred_kind": case.pred_kind,
        "input_bytes": case.input_bytes,
    }


def fill_timing(row: dict, series: Series, pixels: int) -> None:
    median_s = statistics.median(series.samples)
    row["ms"] = median_s * 1e3
    row["min_ms"] = min(series.samples) * 1e3
    row["pixels_per_s"] = pixels / median_s
    row["samples"] = len(series.samples)
    row["calls_per_sample"] = series.calls_per_sample


def add_ratios(rows: list[dict]) -> None:
    baseline = next((r for r in rows if r["contender"] == BASELINE and "ms" in r), None)
    for row in rows:
        if baseline is not None and "ms" in row:
            row["ratio_to_numpy"] = row["ms"] / baseline["ms"]


# -- floors ----------------------------------------------------------------


def scatter_floor(cells: np.ndarray, buffer_size: int) -> Callable[[], Any]:
    """Build a call of one ScatterElements(add) of float64 ones, alone in a graph."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    node = helper.make_node(
        "ScatterElements", ["data", "indices", "updates"], ["out"], reduction="add"
    )
    graph = helper.make_graph(
        [node],
        "scatter_floor",
        [
            helper.make_tensor_value_info("data", TensorProto.DOUBLE, [buffer_size]),
            helper.make_tensor_value_info("indices", TensorProto.INT64, ["n"]),
            helper.make_tensor_value_info("updates", TensorProto.DOUBLE, ["n"]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.DOUBLE, [buffer_size])],
    )
    opset = [helper.make_opsetid("", 18)]
    model = helper.make_model(graph, opset_imports=opset, ir_version=9)
    session = ort.InferenceSession(model.SerializeToString())
    feed = {
        "data": np.zeros(buffer_size),
        "indices": cells,
        "updates": np.ones(cells.shape[0]),
    }
    return lambda: session.run(None, feed)


def measure_floors(pixels: int, classes: int, grid: Grid) -> list[dict]:
    """Time the counting step alone: bincount and scatter on ready indices."""
    rng = np.random.default_rng(0)
    size = (classes + 2) ** 2
    cells = rng.integers(0, size, pixels)
    operations = {
        "np.bincount of int64 cell indices": lambda: np.bincount(cells, minlength=size),
        "onnxruntime ScatterElements(add), float64 ones": scatter_floor(cells, size),
    }
    if package_version("torch"):
        import torch

        tensor = torch.from_numpy(cells)
        operations["torch.bincount of int64 cell indices"] = lambda: torch.bincount(
            tensor, minlength=size
        )
    rows = []
    for name, operation in operations.items():
        series = Series(name, operation)
        calibrate(series, grid.budget_s)
        for _ in range(grid.min_repeats * 3):
            series.sample()
        rows.append(
            {
                "name": name,
                "pixels": pixels,
                "ms": statistics.median(series.samples) * 1e3,
            }
        )
    return rows


# -- the run ---------------------------------------------------------------


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def grid_cases(grid: Grid, max_logits_bytes: int):
    """Yield each case, or a skip row for logits too large to hold."""
    for pred_kind in grid.pred_kinds:
        for label_dtype in grid.label_dtypes:
            for classes in grid.classes:
                for pixels in grid.pixels:
                    too_big = logits_bytes(classes, pixels) > max_logits_bytes
                    if pred_kind != "labels" and too_big:
                        yield (classes, pixels, label_dtype, pred_kind)
                        continue
                    yield make_case(classes, pixels, label_dtype, pred_kind)


def run_grid(grid: Grid, contenders: list[Contender], max_logits_bytes: int):
    rows, skipped = [], []
    for item in grid_cases(grid, max_logits_bytes):
        if isinstance(item, tuple):
            skipped.append(
                {
                    "case": list(item),
                    "reason": f"logits larger than {max_logits_bytes} bytes",
                }
            )
            continue
        progress(f"timing {item.key()}")
        makers = [c for c in contenders if runs_case(c, item)]
        rows.extend(time_case(item, makers, grid))
    return rows, skipped


def runs_case(contender: Contender, case: Case) -> bool:
    """Return whether to time ``contender`` on ``case``.

    The one-hot kernel's time grows with pixels x classes (minutes per call
    at 150 classes and 4M pixels), so it runs up to 1M pixels x 21 classes.
    """
    if "onehot_matmul" in contender.name:
        return case.pixels * case.classes <= 2**20 * 21
    return True


def machine_info() -> dict:
    cpu = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": cpu,
        "logical_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }


def versions() -> dict:
    packages = [
        "onnxiou",
        "numpy",
        "onnxruntime",
        "onnx",
        "onnxscript",
        "torch",
        "torchmetrics",
        "keras",
        "jax",
        "scikit-learn",
    ]
    found = {package: package_version(package) for package in packages}
    import onnxiou

    found["onnxiou"] = onnxiou.__version__
    return {name: version for name, version in found.items() if version}


def thread_info() -> dict:
    info = {"onnxruntime_intra_op": "onnxruntime default (one per physical core)"}
    if package_version("torch"):
        import torch

        info["torch"] = torch.get_num_threads()
    return info


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grid, few repeats")
    parser.add_argument(
        "--out", default=str(REPO_ROOT / "docs"), help="directory for the two reports"
    )
    parser.add_argument(
        "--max-logits-mb",
        type=int,
        default=1024,
        help="skip logits cells whose float32 logits exceed this many MiB",
    )
    parser.add_argument("--no-memory", action="store_true", help="skip memory probes")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        help="time only the contenders whose name contains this text (repeatable)",
    )
    parser.add_argument(
        "--pixels", type=int, nargs="+", help="replace the grid's pixel counts"
    )
    parser.add_argument(
        "--classes", type=int, nargs="+", help="replace the grid's class counts"
    )
    parser.add_argument("--memory-probe", nargs=5, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def selected_contenders(only: list[str]) -> tuple[list[Contender], list[dict]]:
    chosen, missing = [], []
    for contender in CONTENDERS:
        included = contender.name == BASELINE or not only
        included = included or any(text in contender.name for text in only)
        if not included:
            continue
        if available(contender):
            chosen.append(contender)
        else:
            missing.append({"contender": contender.name, "reason": "not installed"})
    return chosen, missing


def command_line(argv: list[str]) -> str:
    """Return the command that reproduces the run, less its output directory."""
    kept, skip_next = [], False
    for argument in argv:
        if skip_next:
            skip_next = False
        elif argument == "--out":
            skip_next = True
        elif not argument.startswith("--out="):
            kept.append(argument)
    return " ".join(["python", "tools/bench.py", *kept])


def build_report(args: argparse.Namespace, argv: list[str] | None) -> dict:
    grid = QUICK if args.quick else FULL
    if args.pixels:
        grid = dataclasses.replace(grid, pixels=tuple(args.pixels))
    if args.classes:
        grid = dataclasses.replace(grid, classes=tuple(args.classes))
    contenders, missing = selected_contenders(args.only)
    for entry in missing:
        progress(f"skipping {entry['contender']}: {entry['reason']}")
    started = datetime.datetime.now(datetime.timezone.utc)
    rows, skipped = run_grid(grid, contenders, args.max_logits_mb * 2**20)
    memory = [] if args.no_memory else measure_memory(grid, contenders, progress)
    floors = measure_floors(max(grid.pixels[:3]), 21, grid)
    cold_start = measure_cold_start(grid.cold_runs)
    finished = datetime.datetime.now(datetime.timezone.utc)
    return {
        "date": started.isoformat(timespec="seconds"),
        "command": command_line(argv if argv is not None else sys.argv[1:]),
        "quick": args.quick,
        "machine": machine_info(),
        "versions": versions(),
        "threads": thread_info(),
        "grid": dataclasses.asdict(grid),
        "missing_contenders": missing,
        "skipped_cases": skipped,
        "results": rows,
        "memory": memory,
        "floors": floors,
        "cold_start": cold_start,
        "duration_s": (finished - started).seconds,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.memory_probe:
        name, classes, pixels, label_dtype, kind = args.memory_probe
        probe_memory(name, int(classes), int(pixels), label_dtype, kind)
        return 0
    report = build_report(args, argv)
    for path in write_reports(report, Path(args.out)):
        progress(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
