"""Per-provider choices: which accumulate kernel ``kernel="auto"`` picks."""

from __future__ import annotations

from collections.abc import Sequence

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"

# Providers known to run ScatterElements with reduction="add" on float
# data. TensorRT needs a plugin for scatter reductions, so it gets the
# one-hot matrix product; an unknown provider does too, being the safer
# formulation.
_SCATTER_PROVIDERS = (CPU, CUDA)


def provider_names(providers: Sequence[object] | None) -> list[str]:
    """Names from an onnxruntime ``providers`` list (names or (name, options))."""
    if providers is None:
        return [CPU]
    names = []
    for entry in providers:
        name = entry[0] if isinstance(entry, (tuple, list)) else entry
        if not isinstance(name, str):
            raise TypeError(
                "Expected argument `providers` to list provider names or "
                f"(name, options) pairs, but got {entry!r}."
            )
        names.append(name)
    if not names:
        raise ValueError("Expected argument `providers` to name at least one provider.")
    return names


def resolve_kernel(kernel: str, providers: Sequence[object] | None) -> str:
    """Return the concrete kernel for ``kernel`` on the first provider."""
    if kernel != "auto":
        return kernel
    first = provider_names(providers)[0]
    return "scatter" if first in _SCATTER_PROVIDERS else "onehot_matmul"
