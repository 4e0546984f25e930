"""Replay exported graphs on older onnxruntime releases, each in a throwaway venv.

For each onnxruntime version (1.16, 1.20 and 1.24 by default) this script
creates a virtual environment in a temporary folder and installs that
onnxruntime release and a numpy it supports from PyPI. Then it runs
tools/replay_graphs.py there, which needs only numpy and onnxruntime, on
five sets of graphs:

* ``committed``: the golden catalogue's graphs as committed in
  tests/golden/, or models/ with generated inputs when there is no
  catalogue;
* ``cpu``, ``cuda``, ``tensorrt``: the same cases exported now by this
  checkout's onnxiou with each provider profile, at each case's own opset,
  dtypes and ranks;
* ``matrix``: MeanIoU(num_classes=21, ignore_class=255) with generated
  inputs, for every profile, kernel and state dtype at opset 18, and for
  every profile at each supported opset (16-21).

It prints pass/fail per version, set and opset, the first problem of each
failing case, and the oldest tested version on which every opset-18 graph
passes. It exits with 1 when a version fails an opset-18 graph or its
environment cannot be created. Three pip installs take a few minutes, so
CI does not run it::

    python tools/old_runtimes.py
    python tools/old_runtimes.py --versions 1.16,1.18 --keep /tmp/ort-venvs
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

# export_cases puts this checkout's onnxiou first on sys.path.
from export_cases import export, export_case, export_options, source_folders

from onnxiou import MeanIoU  # noqa: E402
from onnxiou.graph.model import MAX_OPSET, MIN_OPSET  # noqa: E402

TOOLS_DIR = Path(__file__).resolve().parent
REPLAY_SCRIPT = TOOLS_DIR / "replay_graphs.py"
DEFAULT_VERSIONS = ("1.16", "1.20", "1.24")
DEFAULT_OPSET = 18
PROFILES = ("cpu", "cuda", "tensorrt")
# onnxruntime wheels before 1.19 are built against numpy 1.x and fail to
# import under numpy 2 (seen with 1.18.1).
FIRST_NUMPY2_RELEASE = (1, 19)


@dataclasses.dataclass(frozen=True)
class GraphSet:
    """Case folders to replay, with each folder's opset."""

    name: str
    folders: tuple[Path, ...]
    opsets: dict[str, int]


def export_profile(folders: list[Path], profile: str, root: Path) -> GraphSet:
    """Export every case again with ``profile``, at the case's own options."""
    targets = [root / profile / folder.name for folder in folders]
    opsets = {
        folder.name: export_case(folder, target, profile)["opset"]
        for folder, target in zip(folders, targets)
    }
    return GraphSet(profile, tuple(targets), opsets)


def matrix_set(root: Path) -> GraphSet:
    """Export one configuration per profile, kernel, state dtype and opset."""
    variants = [
        (profile, kernel, state_dtype, DEFAULT_OPSET)
        for profile in PROFILES
        for kernel in ("scatter", "onehot_matmul")
        for state_dtype in ("float64", "int64", "float32")
    ]
    variants += [
        (profile, "auto", "float64", opset)
        for profile in PROFILES
        for opset in range(MIN_OPSET, MAX_OPSET + 1)
        if opset != DEFAULT_OPSET
    ]
    folders = []
    opsets = {}
    for profile, kernel, state_dtype, opset in variants:
        metric = MeanIoU(
            num_classes=21, ignore_class=255, kernel=kernel, state_dtype=state_dtype
        )
        target = root / "matrix" / f"{profile}_{kernel}_{state_dtype}_opset{opset}"
        export(metric, target, opset=opset, provider=profile)
        folders.append(target)
        opsets[target.name] = opset
    return GraphSet("matrix", tuple(folders), opsets)


def committed_set(folders: list[Path]) -> GraphSet:
    opsets = {f.name: export_options(f / "update.onnx")["opset"] for f in folders}
    return GraphSet("committed", tuple(folders), opsets)


def numpy_requirement(version: str) -> str:
    parts = tuple(int(part) for part in version.split(".")[:2])
    return "numpy" if parts >= FIRST_NUMPY2_RELEASE else "numpy<2"


def run(command: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False)


def create_environment(version: str, root: Path) -> tuple[Path | None, str]:
    """Create a venv with onnxruntime ``version``; return its python and versions."""
    folder = root / f"onnxruntime-{version}"
    python = folder / "bin" / "python"
    steps = [
        [sys.executable, "-m", "venv", str(folder)],
        [
            str(python), "-m", "pip", "install", "--quiet",
            "--disable-pip-version-check",
            f"onnxruntime=={version}.*", numpy_requirement(version),
        ],
    ]
    for command in steps:
        completed = run(command)
        if completed.returncode != 0:
            return None, (completed.stderr or completed.stdout).strip()[-2000:]
    query = (
        "import numpy, onnxruntime; "
        "print(onnxruntime.__version__, numpy.__version__)"
    )
    installed = run([str(python), "-c", query]).stdout.split()
    if len(installed) != 2:
        return python, "installed versions unknown"
    return python, f"onnxruntime {installed[0]}, numpy {installed[1]}"


def replay_folders(python: Path, folders: list[Path]) -> tuple[list[dict], str]:
    """Run replay_graphs.py on ``folders``; return its outcomes and any crash."""
    command = [str(python), str(REPLAY_SCRIPT), "--json", *map(str, folders)]
    completed = run(command)
    lines = completed.stdout.splitlines()
    outcomes = [json.loads(line) for line in lines if line.startswith("{")]
    if completed.returncode in (0, 1):
        return outcomes, ""
    tail = (completed.stderr or completed.stdout).strip().splitlines()[-1:]
    # A negative return code is the signal that killed the process.
    crash = f"replay exited with status {completed.returncode}"
    return outcomes, "; ".join([crash, *tail])


def replay(python: Path, graph_set: GraphSet) -> list[dict]:
    """Run replay_graphs.py with ``python`` on a set; return one outcome per case.

    When a case kills the replay process (onnxruntime can die on SIGFPE),
    the remaining cases are replayed one at a time.
    """
    outcomes, crash = replay_folders(python, list(graph_set.folders))
    if not crash:
        return outcomes
    for folder in graph_set.folders[len(outcomes):]:
        single, crash = replay_folders(python, [folder])
        if crash:
            single = [{"case": folder.name, "passed": False, "problems": [crash]}]
        outcomes += single
    return outcomes


def summarize(graph_set: GraphSet, outcomes: list[dict]) -> dict[int, tuple[int, int]]:
    """Print one set's results; return (passed, total) per opset."""
    by_opset: dict[int, list[bool]] = defaultdict(list)
    for outcome in outcomes:
        by_opset[graph_set.opsets[outcome["case"]]].append(outcome["passed"])
    counts = {opset: (sum(passed), len(passed)) for opset, passed in by_opset.items()}
    text = ", ".join(
        f"opset {opset}: {passed}/{total}"
        for opset, (passed, total) in sorted(counts.items())
    )
    print(f"  {graph_set.name:<10} {text}")
    for outcome in outcomes:
        if not outcome["passed"]:
            problem = (outcome["problems"][0].splitlines() or ["no message"])[0]
            problem = problem[:200]
            print(f"    FAIL {outcome['case']}: {problem}")
    return counts


def check_version(version: str, root: Path, sets: list[GraphSet]) -> tuple[bool, str]:
    """Replay every set under one onnxruntime version.

    Returns whether every opset-18 case passed (False when the environment
    could not be created) and the installed onnxruntime and numpy versions.
    """
    python, installed = create_environment(version, root)
    if python is None:
        print(f"onnxruntime {version}: environment failed: {installed}")
        return False, "not installed"
    print(f"onnxruntime {version} ({installed}):")
    default_ok = True
    for graph_set in sets:
        counts = summarize(graph_set, replay(python, graph_set))
        passed, total = counts.get(DEFAULT_OPSET, (0, 0))
        default_ok = default_ok and passed == total
    return default_ok, installed


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--versions",
        default=",".join(DEFAULT_VERSIONS),
        help="comma-separated onnxruntime minor versions to test, such as 1.16,1.20",
    )
    parser.add_argument(
        "--keep",
        type=Path,
        help="folder for the environments and exports, kept after the run "
        "(default: a temporary folder that is deleted)",
    )
    return parser.parse_args(argv)


def run_all(versions: list[str], root: Path) -> int:
    folders = source_folders()
    sets = [committed_set(folders)]
    sets += [export_profile(folders, profile, root / "graphs") for profile in PROFILES]
    sets.append(matrix_set(root / "graphs"))
    results = {version: check_version(version, root, sets) for version in versions}
    passing = [v for v in versions if results[v][0]]
    ordered = sorted(passing, key=lambda v: tuple(int(p) for p in v.split(".")))
    if ordered:
        oldest = ordered[0]
        print(
            f"oldest tested onnxruntime running every opset-{DEFAULT_OPSET} "
            f"graph: {oldest} ({results[oldest][1]})"
        )
    else:
        print(f"no tested onnxruntime ran every opset-{DEFAULT_OPSET} graph")
    return 0 if all(ok for ok, _ in results.values()) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_arguments(argv)
    versions = [v.strip() for v in args.versions.split(",") if v.strip()]
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run_all(versions, args.keep)
    with tempfile.TemporaryDirectory(prefix="onnxiou-old-runtimes-") as folder:
        return run_all(versions, Path(folder))


if __name__ == "__main__":
    raise SystemExit(main())
