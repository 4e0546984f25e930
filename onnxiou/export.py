"""Export a metric's graphs as self-describing ONNX files, and load them back.

Each file carries its contract: the graph ``doc_string`` and every input
and output's doc string describe names, dtypes, shapes and meaning, and
``metadata_props`` hold the configuration as JSON. Exports are
deterministic: the same configuration gives byte-identical files.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import onnx

from onnxiou import profiles
from onnxiou._inputs import LABEL_DTYPES, SCORE_DTYPES
from onnxiou._spec import MetricSpec, _check_choice, _check_int
from onnxiou._version import __version__
from onnxiou.graph import contract
from onnxiou.graph.model import DEFAULT_OPSET, GRAPH_KINDS, GraphOptions, build_graph
from onnxiou.metrics import METRICS, _IoUBase

METADATA_PREFIX = "onnxiou."
PRODUCER = "onnxiou"


def default_dtypes(metric: _IoUBase) -> tuple[str, str]:
    """Return the label and score dtypes of an export when none are given."""
    spec = metric.spec
    y_true = "int64" if spec.sparse_y_true else "float32"
    y_pred = "int64" if spec.sparse_y_pred else "float32"
    if spec.threshold is not None:
        y_pred = "float32"
    return y_true, y_pred


def default_ranks(metric: _IoUBase) -> tuple[int, int]:
    """Input ranks of an export when none are given: images of class ids
    ``[batch, height, width]``, or dense ``[batch, height, width, classes]``."""
    spec = metric.spec
    pred_dense = not spec.sparse_y_pred and spec.threshold is None
    return (3 if spec.sparse_y_true else 4), (4 if pred_dense else 3)


def _check_input(
    metric: _IoUBase, name: str, dtype: str, rank: int, sparse: bool
) -> None:
    """Reject a dtype the graphs do not take, or a rank without the class axis."""
    _check_choice(f"{name}_dtype", dtype, LABEL_DTYPES if sparse else SCORE_DTYPES)
    _check_int(f"{name}_rank", rank)
    axis = metric.spec.axis
    if rank < 0:
        raise ValueError(
            f"Expected argument `{name}_rank` to be at least 0, but got {rank}."
        )
    if not sparse and not -rank <= axis < rank:
        raise ValueError(
            f"Expected argument `{name}_rank` to include the class axis {axis} "
            f"of dense {name}, but got rank {rank}."
        )


def _check_inputs(metric: _IoUBase, options: GraphOptions) -> None:
    spec = metric.spec
    sparse_pred = spec.sparse_y_pred and spec.threshold is None
    _check_input(
        metric, "y_true", options.y_true_dtype, options.y_true_rank, spec.sparse_y_true
    )
    _check_input(
        metric, "y_pred", options.y_pred_dtype, options.y_pred_rank, sparse_pred
    )


def _metadata(metric: _IoUBase, kind: str, options: GraphOptions) -> dict[str, str]:
    spec = metric.spec
    state = spec.state_dtype
    return {
        "onnxiou.version": __version__,
        "onnxiou.graph": kind,
        "onnxiou.metric": spec.metric,
        "onnxiou.config": json.dumps(metric.get_config(), sort_keys=True),
        "onnxiou.state_dtype": spec.state_dtype,
        "onnxiou.state_shape": json.dumps(list(spec.state_shape)),
        "onnxiou.num_classes": str(spec.num_classes),
        "onnxiou.kernel": options.kernel,
        "onnxiou.provider": options.provider,
        "onnxiou.accumulate_dtype": profiles.accumulate_dtype(options.provider, state),
        "onnxiou.provider_state_dtype": profiles.provider_state_dtype(
            options.provider, state
        ),
    }


def _signature(value: onnx.ValueInfoProto) -> str:
    """``name: dtype [dims]`` of a declared input or output."""
    tensor = value.type.tensor_type
    dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor.elem_type).name
    dims = [dim.dim_param or dim.dim_value for dim in tensor.shape.dim]
    return f"{value.name}: {dtype} {dims}"


def _provider_note(spec: MetricSpec, kind: str, options: GraphOptions) -> list[str]:
    """Return doc lines on how the profile's provider stores and counts the state."""
    state = spec.state_dtype
    kept = profiles.provider_state_dtype(options.provider, state)
    summed = profiles.accumulate_dtype(options.provider, state)
    lines = []
    if kept != state:
        lines.append(
            f"{profiles.get_profile(options.provider).provider} computes "
            f"{state} values in {kept}, so total_cm counts exactly only up to "
            f"{profiles.exact_count_limit(kept)} per cell there."
        )
    if summed != state and kind != "result":
        lines.append(
            f"Each call sums its pairs in {summed}: counts are exact while a "
            f"cell's weight in one call stays within "
            f"{profiles.exact_count_limit(summed)}."
        )
    return lines


def _doc(
    metric: _IoUBase, kind: str, model: onnx.ModelProto, options: GraphOptions
) -> str:
    spec = metric.spec
    lines = [
        f"onnxiou {__version__}: {kind} graph of {spec.metric} "
        f"({spec.num_classes} classes, state {spec.state_dtype} "
        f"{list(spec.state_shape)}, kernel {options.kernel}, opset {options.opset}, "
        f"provider profile {options.provider}).",
        "Configuration: " + json.dumps(metric.get_config(), sort_keys=True),
        "Inputs:",
        *(f"  {_signature(value)}. {value.doc_string}" for value in model.graph.input),
        "Outputs:",
        *(f"  {_signature(value)}. {value.doc_string}" for value in model.graph.output),
        "Feed zeros as total_cm first, then each call's total_cm_out.",
        *_provider_note(spec, kind, options),
    ]
    return "\n".join(lines)


def to_model(
    metric: _IoUBase,
    kind: str = "step",
    *,
    opset: int = DEFAULT_OPSET,
    y_true_dtype: str | None = None,
    y_pred_dtype: str | None = None,
    y_true_rank: int | None = None,
    y_pred_rank: int | None = None,
    provider: str | None = None,
) -> onnx.ModelProto:
    """Build graph ``kind`` ("update", "result" or "step") of ``metric``.

    ``provider`` is the provider profile the graph is formulated for:
    "cpu", "cuda" or "tensorrt" (onnxruntime's provider names are taken
    too). None uses the profile of the metric's first provider. The
    profile also resolves ``kernel="auto"``.

    Raises TypeError or ValueError for an opset, dtype, rank or provider
    the graphs do not support.
    """
    _check_int("opset", opset)
    profile, kernel = _profile_and_kernel(metric, provider)
    default_true, default_pred = default_dtypes(metric)
    rank_true, rank_pred = default_ranks(metric)
    options = GraphOptions(
        y_true_dtype or default_true,
        y_pred_dtype or default_pred,
        kernel,
        opset,
        y_true_rank=rank_true if y_true_rank is None else y_true_rank,
        y_pred_rank=rank_pred if y_pred_rank is None else y_pred_rank,
        provider=profile,
    )
    _check_inputs(metric, options)
    model = build_graph(metric.spec, kind, options)
    model.producer_name = PRODUCER
    model.producer_version = __version__
    model.graph.name = f"onnxiou_{metric.spec.metric}_{kind}"
    model.graph.doc_string = _doc(metric, kind, model, options)
    model.doc_string = model.graph.doc_string.splitlines()[0]
    onnx.helper.set_model_props(model, _metadata(metric, kind, options))
    return model


def _profile_and_kernel(metric: _IoUBase, provider: str | None) -> tuple[str, str]:
    """Return the export's profile and concrete kernel."""
    if provider is None:
        return metric.profile, metric.kernel
    profile = profiles.get_profile(provider).name
    return profile, profiles.profile_kernel(metric.spec.kernel, profile)


def export(
    metric: _IoUBase,
    directory: str | os.PathLike,
    *,
    opset: int = DEFAULT_OPSET,
    y_true_dtype: str | None = None,
    y_pred_dtype: str | None = None,
    y_true_rank: int | None = None,
    y_pred_rank: int | None = None,
    provider: str | None = None,
) -> dict[str, Path]:
    """Write ``update.onnx``, ``result.onnx`` and ``step.onnx`` into ``directory``.

    The arguments are those of :func:`to_model`. All three graphs are built
    before anything is written, so an invalid argument leaves ``directory``
    untouched.
    """
    models = {}
    for kind in GRAPH_KINDS:
        models[kind] = to_model(
            metric,
            kind,
            opset=opset,
            y_true_dtype=y_true_dtype,
            y_pred_dtype=y_pred_dtype,
            y_true_rank=y_true_rank,
            y_pred_rank=y_pred_rank,
            provider=provider,
        )
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for kind, model in models.items():
        path = out / f"{kind}.onnx"
        path.write_bytes(model.SerializeToString(deterministic=True))
        paths[kind] = path
    return paths


def read_metadata(model: onnx.ModelProto | str | os.PathLike) -> dict[str, str]:
    """Return the ``onnxiou.*`` metadata of a model written by onnxiou.

    Raises ValueError for a model onnxiou did not write.
    """
    if not isinstance(model, onnx.ModelProto):
        model = onnx.load(os.fspath(model), load_external_data=False)
    props = {p.key: p.value for p in model.metadata_props if p.key.startswith(METADATA_PREFIX)}
    if "onnxiou.config" not in props or "onnxiou.metric" not in props:
        raise ValueError(
            "Expected a model exported by onnxiou (metadata keys onnxiou.metric "
            "and onnxiou.config), but this model has none."
        )
    return props


def load_metric(model: onnx.ModelProto | str | os.PathLike, **overrides: Any) -> _IoUBase:
    """Create the metric an exported model was built from.

    ``overrides`` replace constructor arguments, e.g. ``providers=[...]``.
    """
    props = read_metadata(model)
    metric_cls = METRICS[props["onnxiou.metric"]]
    config = json.loads(props["onnxiou.config"])
    config.update(overrides)
    return metric_cls.from_config(config)


__all__ = ["export", "load_metric", "read_metadata", "to_model", "contract"]
