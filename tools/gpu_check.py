"""Replay the golden catalogue on CUDA and TensorRT with CPU fallback disabled.

For a machine with an NVIDIA GPU and onnxruntime-gpu; CI does not run it.
For each GPU provider that onnxruntime offers (CUDA, and TensorRT when
present) the script:

1. exports every golden case (tests/golden/, or models/ when there is no
   catalogue) again with that provider's profile, "cuda" or "tensorrt", at
   the case's own opset, dtypes and ranks (tools/export_cases.py);
2. replays each case with tools/replay_graphs.py through ``step.onnx`` and
   through ``update.onnx`` + ``result.onnx``, with the session option
   ``session.disable_cpu_ep_fallback`` = ``"1"`` so that a node left for
   the CPU provider fails the session, and compares with the expected
   numbers;
3. times the update graph of MeanIoU(num_classes=21, ignore_class=255) on
   8 x 512 x 512 int64 labels, with the inputs and the state bound on the
   GPU, and reports million label pairs per second.

The TensorRT run lists the CUDA provider second, for the nodes TensorRT
declines. TensorRT keeps float64 values as float32, so its counts with
fractional weights are compared to a relative tolerance of 1e-5.

``--on-cpu`` runs the same steps on the CPU provider with each profile,
which tests this script on a machine without a GPU. onnxruntime rejects
disabling the CPU fallback when the CPU provider is listed, so that run
leaves it on.

Exit status: 0 when every case agrees on every provider checked, 1 when a
case disagrees or fails, 3 when onnxruntime offers no CUDA provider::

    python tools/gpu_check.py
    python tools/gpu_check.py --allow-cpu-fallback --runs 50
    python tools/gpu_check.py --on-cpu --runs 2
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import replay_graphs

# export_cases puts this checkout's onnxiou first on sys.path.
from export_cases import export, export_case, source_folders

from onnxiou import MeanIoU  # noqa: E402

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"
NO_CUDA_STATUS = 3
THROUGHPUT_SHAPE = (8, 512, 512)
THROUGHPUT_CLASSES = 21


@dataclasses.dataclass(frozen=True)
class Target:
    """One provider setup to check: its label, provider list and profile.

    ``cpu_fallback`` is whether onnxruntime may place nodes on the CPU
    provider; ``device`` is where the throughput run binds its tensors.
    """

    label: str
    providers: tuple[str, ...]
    profile: str
    count_rtol: float
    device: str
    cpu_fallback: bool = False


def targets(available: list[str]) -> list[Target]:
    """Return the GPU setups to check, from onnxruntime's available providers."""
    found = [Target("CUDA", (CUDA,), "cuda", 1e-9, "cuda")]
    if TENSORRT in available:
        found.append(Target("TensorRT", (TENSORRT, CUDA), "tensorrt", 1e-5, "cuda"))
    return found


def cpu_targets() -> list[Target]:
    """Return every profile on the CPU provider, to test this script without a GPU."""
    return [
        Target(f"CPU ({profile} profile)", (CPU,), profile, 1e-9, "cpu", True)
        for profile in ("cpu", "cuda", "tensorrt")
    ]


def run_options(target: Target, fallback: bool) -> replay_graphs.RunOptions:
    disable = not (fallback or target.cpu_fallback)
    return replay_graphs.RunOptions(target.providers, disable, target.count_rtol)


def check_agreement(target: Target, root: Path, fallback: bool) -> list[dict]:
    """Export every case with the target's profile and replay it there."""
    options = run_options(target, fallback)
    outcomes = []
    for folder in source_folders():
        exported = root / target.profile / folder.name
        export_case(folder, exported, target.profile)
        outcomes.append(replay_graphs.replay_case(exported, options))
    return outcomes


def report_agreement(target: Target, outcomes: list[dict]) -> bool:
    passed = sum(outcome["passed"] for outcome in outcomes)
    print(f"{target.label}: {passed}/{len(outcomes)} cases agree")
    for outcome in outcomes:
        if not outcome["passed"]:
            print(f"  {replay_graphs.describe(outcome)}")
    return passed == len(outcomes)


def throughput(target: Target, root: Path, runs: int, fallback: bool) -> float:
    """Return million label pairs per second of the update graph on ``target``."""
    metric = MeanIoU(num_classes=THROUGHPUT_CLASSES, ignore_class=255)
    folder = root / "throughput" / target.profile
    export(metric, folder, provider=target.profile)
    session = replay_graphs.make_session(
        folder / "update.onnx", run_options(target, fallback)
    )
    binding = bound_update(session, target.device)
    session.run_with_iobinding(binding)
    start = time.perf_counter()
    for _ in range(runs):
        session.run_with_iobinding(binding)
    elapsed = time.perf_counter() - start
    pairs = int(np.prod(THROUGHPUT_SHAPE))
    return pairs * runs / elapsed / 1e6


def bound_update(session: ort.InferenceSession, device: str) -> ort.IOBinding:
    """Bind random labels, a unit weight and a zero state on ``device``."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, THROUGHPUT_CLASSES, THROUGHPUT_SHAPE, dtype=np.int64)
    predictions = rng.integers(0, THROUGHPUT_CLASSES, THROUGHPUT_SHAPE, dtype=np.int64)
    feeds = {
        "y_true": labels,
        "y_pred": predictions,
        "sample_weight": np.ones(1, dtype=np.float64),
        "total_cm": np.zeros((THROUGHPUT_CLASSES,) * 2, dtype=np.float64),
    }
    binding = session.io_binding()
    for name, array in feeds.items():
        value = ort.OrtValue.ortvalue_from_numpy(array, device, 0)
        binding.bind_ortvalue_input(name, value)
    for output in session.get_outputs():
        binding.bind_output(output.name, device)
    return binding


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--allow-cpu-fallback",
        action="store_true",
        help="let onnxruntime place nodes on the CPU provider instead of failing",
    )
    parser.add_argument(
        "--runs",
        type=int,
        default=20,
        help="timed runs of the update graph (default 20)",
    )
    parser.add_argument(
        "--on-cpu",
        action="store_true",
        help="check every profile on the CPU provider instead of the GPU providers",
    )
    return parser.parse_args(argv)


def check_target(target: Target, root: Path, args: argparse.Namespace) -> bool:
    agreed = report_agreement(
        target, check_agreement(target, root, args.allow_cpu_fallback)
    )
    try:
        rate = throughput(target, root, args.runs, args.allow_cpu_fallback)
        print(f"{target.label}: update graph {rate:.1f} M pairs/s")
    except Exception as error:  # noqa: BLE001 - report and go on to the next provider
        print(f"{target.label}: throughput run failed: {type(error).__name__}: {error}")
        agreed = False
    return agreed


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    available = ort.get_available_providers()
    if args.on_cpu:
        return run_targets(cpu_targets(), args)
    if CUDA not in available:
        print(
            f"no CUDA provider: onnxruntime {ort.__version__} offers "
            f"{', '.join(available)}. Run this on a machine with an NVIDIA GPU "
            "and onnxruntime-gpu installed."
        )
        return NO_CUDA_STATUS
    return run_targets(targets(available), args)


def run_targets(checked: list[Target], args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="onnxiou-gpu-check-") as folder:
        results = [check_target(target, Path(folder), args) for target in checked]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
