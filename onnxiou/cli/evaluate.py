"""``onnxiou evaluate``: score a folder of predictions against ground truth.

Run without paths, it evaluates the sample bundled with the source
checkout, ``examples/arc2017``, with its ``classes.txt``.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import Any

from onnxiou._spec import KERNELS, STATE_DTYPES
from onnxiou.cli import PROG, SUBCOMMANDS
from onnxiou.evaluation.checkpoint import CheckpointSaver, load_checkpoint, restore
from onnxiou.evaluation.errors import EvaluationError
from onnxiou.evaluation.flags import binary_foreground, metric_options
from onnxiou.evaluation.interrupts import StopSignals
from onnxiou.evaluation.messages import dropped_warning, fractional_warnings
from onnxiou.evaluation.options import METRIC_CHOICES, Metric, make_metric
from onnxiou.evaluation.pairing import Pair, pair_paths
from onnxiou.evaluation.progress import RunProgress
from onnxiou.evaluation.progress_bar import progress_bar
from onnxiou.evaluation.readers import read_array, read_class_names
from onnxiou.evaluation.report import build_report, format_table, write_report
from onnxiou.evaluation.runner import RunSettings, evaluate_pairs
from onnxiou.evaluation.sample import bundled_sample
from onnxiou.evaluation.shapes import PredictionKind, prediction_kind

DEFAULT_CHECKPOINT_EVERY = 100

# Library argument -> flag, for the names in library error messages.
ARGUMENT_FLAGS = {
    "num_classes": "--num-classes",
    "ignore_class": "--ignore-class",
    "target_class_ids": "--target-class-ids",
    "threshold": "--threshold",
    "axis": "--axis",
    "state_dtype": "--state-dtype",
    "kernel": "--kernel",
    "providers": "--providers",
}


def add_parser(subparsers: Any) -> None:
    """Add the ``evaluate`` subcommand to ``subparsers``."""
    parser = subparsers.add_parser(
        "evaluate",
        help=SUBCOMMANDS["evaluate"].summary,
        description=(
            "Score predicted masks against ground-truth label maps, matched by "
            "file stem, and print IoU per class and the metric value. Label "
            "maps are PNG (8-bit, 16-bit or palette indices), .npy or TIFF. A "
            "prediction is a label map in the same formats, or class scores "
            "(logits or probabilities) with one more axis than its label. "
            "Without LABELS and PREDICTIONS, the bundled sample "
            "examples/arc2017 is evaluated."
        ),
    )
    parser.add_argument(
        "labels",
        metavar="LABELS",
        type=Path,
        nargs="?",
        help="folder (or file) of ground-truth label maps",
    )
    parser.add_argument(
        "predictions",
        metavar="PREDICTIONS",
        type=Path,
        nargs="?",
        help="folder (or file) of predictions",
    )
    _add_metric_flags(parser.add_argument_group("metric arguments"))
    _add_run_flags(parser.add_argument_group("run arguments"))


def _add_metric_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--metric",
        choices=METRIC_CHOICES,
        default="MeanIoU",
        help="the Keras metric class (default: MeanIoU)",
    )
    group.add_argument(
        "--num-classes",
        type=int,
        metavar="N",
        help="number of classes; required unless --class-names "
        "gives them (BinaryIoU: 2)",
    )
    group.add_argument(
        "--class-names",
        type=Path,
        metavar="FILE",
        help="text file with one class name per line, line 1 "
        "being class 0; sets the number of classes",
    )
    group.add_argument(
        "--ignore-class",
        type=int,
        action="append",
        default=[],
        metavar="ID",
        help="label value whose pixels are not scored, such as "
        "255 for void; repeat for several (not for BinaryIoU)",
    )
    group.add_argument(
        "--binary-foreground",
        type=int,
        metavar="VALUE",
        help="BinaryIoU only: label value read as class 1, such as 255 for "
        "0/255 masks (default: labels are 0 and 1)",
    )
    group.add_argument(
        "--target-class-ids",
        metavar="IDS",
        help="comma-separated classes averaged into the result, "
        "such as 0,2; required for IoU, default 0,1 for BinaryIoU",
    )
    group.add_argument(
        "--threshold",
        type=float,
        metavar="T",
        help="BinaryIoU only: a score >= T predicts class 1 (default: 0.5)",
    )
    group.add_argument(
        "--axis",
        type=int,
        default=-1,
        help="class axis of predictions that contain class scores (default: -1)",
    )
    group.add_argument(
        "--state-dtype",
        choices=STATE_DTYPES,
        default="float64",
        help="element type of the confusion matrix (default: float64)",
    )
    group.add_argument(
        "--kernel",
        choices=KERNELS,
        default="auto",
        help="accumulate kernel (default: auto, chosen per provider)",
    )
    group.add_argument(
        "--providers",
        metavar="NAMES",
        help="comma-separated onnxruntime execution providers in "
        "order of preference (default: CPUExecutionProvider)",
    )


def _add_run_flags(group: argparse._ArgumentGroup) -> None:
    group.add_argument(
        "--json",
        type=Path,
        metavar="FILE",
        help="write the full report as JSON to FILE",
    )
    group.add_argument(
        "--strict",
        action="store_true",
        help="stop with an error at the first file with a label or predicted "
        "class outside [0, N) that is not ignored, or with a fractional one",
    )
    group.add_argument(
        "--checkpoint",
        type=Path,
        metavar="FILE",
        help="save progress to FILE every K files and on SIGINT or SIGTERM, "
        "so that --resume can continue the run",
    )
    group.add_argument(
        "--checkpoint-every",
        type=int,
        metavar="K",
        help="save the checkpoint after every K files (default: "
        f"{DEFAULT_CHECKPOINT_EVERY})",
    )
    group.add_argument(
        "--resume",
        action="store_true",
        help="continue the run saved in --checkpoint FILE, skipping "
        "the files it has counted",
    )


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the report and return the exit code.

    Returns 0 on success and 128 + the signal number when SIGINT or SIGTERM
    stopped it. Raises EvaluationError for invalid input, which
    :func:`onnxiou.cli.main` prints as one line before it returns 2.
    """
    labels, predictions, class_names_path = _input_paths(args)
    class_names = read_class_names(class_names_path) if class_names_path else None
    options = metric_options(args, class_names, class_names_path)
    foreground = binary_foreground(args)
    run_options = {} if foreground is None else {"binary_foreground": foreground}
    saver = _checkpoint_saver(args, run_options)
    _check_output_folder("--json", args.json)
    _check_output_folder("--checkpoint", args.checkpoint)

    pairs = pair_paths(labels, predictions)
    kind = _prediction_kind(pairs[0])
    metric = make_metric(options, kind)
    progress = _start_progress(args, metric, pairs, run_options)

    settings = RunSettings(
        kind=kind,
        axis=options.axis,
        strict=args.strict,
        binary_foreground=foreground,
    )
    with StopSignals() as stop:
        with progress_bar(len(pairs), len(progress.finished)) as bar:
            evaluate_pairs(
                metric,
                pairs,
                progress,
                settings,
                saver=saver,
                stop=stop,
                on_file_done=lambda pair: bar.update(),
            )
        # The handlers stay installed for the last save, so that a first
        # signal during it is recorded instead of interrupting the write.
        if saver is not None:
            saver.save(metric, progress)
    if stop.signum is not None:
        return _report_stop(stop.signum, progress, saver, len(pairs))

    report = build_report(metric, pairs, progress, class_names)
    if args.json is not None:
        write_report(args.json, report)
    print(f"labels:      {_display_path(labels)}")
    print(f"predictions: {_display_path(predictions)}")
    print()
    print(format_table(report))
    _print_warnings(metric, pairs, progress)
    return 0


def _display_path(path: Path) -> str:
    """Return ``path`` relative to the working folder if it lies inside it."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _check_output_folder(flag: str, path: Path | None) -> None:
    if path is not None and not path.parent.is_dir():
        raise EvaluationError(
            f"{flag} {path}: folder {path.parent} not found; create it first"
        )


def _input_paths(args: argparse.Namespace) -> tuple[Path, Path, Path | None]:
    """Return the labels, predictions and class-names paths of the run."""
    if args.labels is not None and args.predictions is not None:
        return args.labels, args.predictions, args.class_names
    if args.labels is not None:
        raise EvaluationError(
            "expected both LABELS and PREDICTIONS, or neither to evaluate the "
            "bundled sample, but got only LABELS"
        )
    sample = bundled_sample()
    class_names = args.class_names or sample.class_names
    return sample.labels, sample.predictions, class_names


def _checkpoint_saver(
    args: argparse.Namespace, run_options: dict[str, Any]
) -> CheckpointSaver | None:
    if args.checkpoint is None:
        if args.resume or args.checkpoint_every is not None:
            flag = "--resume" if args.resume else "--checkpoint-every"
            raise EvaluationError(f"{flag} needs --checkpoint FILE")
        return None
    every = args.checkpoint_every
    if every is None:
        every = DEFAULT_CHECKPOINT_EVERY
    if every < 1:
        raise EvaluationError(f"--checkpoint-every must be at least 1, but got {every}")
    return CheckpointSaver(args.checkpoint, every, run_options)


def _prediction_kind(pair: Pair) -> PredictionKind:
    """Return the kind of the first prediction, which fixes it for the run."""
    return prediction_kind(read_array(pair.label), read_array(pair.prediction))


def _start_progress(
    args: argparse.Namespace,
    metric: Metric,
    pairs: list[Pair],
    run_options: dict[str, Any],
) -> RunProgress:
    """Return the progress of a resumed run, loaded into ``metric``, or a new one."""
    if not args.resume:
        if args.checkpoint is not None and args.checkpoint.exists():
            raise EvaluationError(
                f"checkpoint {args.checkpoint} already exists; pass --resume to "
                "continue its run, or delete it to start over"
            )
        return RunProgress()
    checkpoint = load_checkpoint(args.checkpoint)
    stems = {pair.stem for pair in pairs}
    unknown = [stem for stem in checkpoint.progress.finished if stem not in stems]
    if unknown:
        raise EvaluationError(
            f"checkpoint {args.checkpoint} counts {len(unknown)} file(s) that are "
            f"not among the inputs, such as {unknown[0]!r}; it belongs to another run"
        )
    restore(metric, checkpoint, run_options, path=args.checkpoint)
    print(
        f"{PROG}: resuming from {args.checkpoint}: {len(checkpoint.progress.finished)} "
        f"of {len(pairs)} files already counted",
        file=sys.stderr,
    )
    return checkpoint.progress


def _report_stop(
    signum: int,
    progress: RunProgress,
    saver: CheckpointSaver | None,
    total: int,
) -> int:
    """Print that a stop signal ended the run; return 128 + the signal number.

    The checkpoint, if any, has already been saved.
    """
    name = signal.Signals(signum).name
    done = f"after {len(progress.finished)} of {total} files"
    if saver is None:
        tail = "nothing saved (pass --checkpoint FILE to keep progress)"
    else:
        tail = f"checkpoint saved to {saver.path}; rerun with --resume to continue"
    print(f"{PROG}: stopped by {name} {done}; {tail}", file=sys.stderr)
    return 128 + signum


def _print_warnings(metric: Metric, pairs: list[Pair], progress: RunProgress) -> None:
    """Print a warning about the dropped pixels and each kind of fractional value."""
    messages = fractional_warnings(pairs, progress)
    dropped = dropped_warning(metric.spec, progress)
    if dropped:
        messages.insert(0, dropped)
    for message in messages:
        print(f"{PROG}: warning: {message}", file=sys.stderr)
