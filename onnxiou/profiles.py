"""Provider profiles: the execution provider a graph is formulated for.

A profile is ``"cpu"``, ``"cuda"`` or ``"tensorrt"``. It fixes what differs
between onnxruntime's execution providers:

* the accumulate kernel that ``kernel="auto"`` picks;
* whether the stages come from :mod:`onnxiou.graph.portable`, which uses
  only ops and types that the CPU, CUDA and TensorRT providers all have
  kernels for, or from the stage modules tuned for the CPU provider;
* the float type that accumulates an int64 state (integer scatter-adds
  are wrong on CUDA, and integer MatMul exists on CPU only);
* whether the provider computes float64 values in float32, as TensorRT
  does.

Every profile's graphs give the same values when run on the CPU provider.
The wrapper picks the profile of its first provider; an export picks it
with its ``provider`` argument.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TENSORRT = "TensorrtExecutionProvider"

PROFILES = ("cpu", "cuda", "tensorrt")
DEFAULT_PROFILE = "cpu"

# Unit-weight pairs that one cell of a buffer of this dtype counts exactly.
_EXACT_COUNTS = {"float32": 2**24, "float64": 2**53, "int64": 2**63 - 1}


@dataclasses.dataclass(frozen=True)
class Profile:
    """The export choices for one execution provider.

    ``auto_kernel`` is the accumulate kernel of ``kernel="auto"``.
    ``portable`` selects the stages of :mod:`onnxiou.graph.portable`.
    ``int64_accumulate`` is the dtype that accumulates an int64 state.
    ``keeps_float64`` is False where the provider computes float64 values
    in float32.
    """

    name: str
    provider: str
    auto_kernel: str
    portable: bool
    int64_accumulate: str
    keeps_float64: bool


# TensorRT runs scatter reductions only through a plugin that may not be
# registered, so "auto" picks the one-hot matrix product there. Its
# float32 product counts exactly up to 2**24 pairs per cell and call.
_PROFILES = {
    "cpu": Profile("cpu", CPU, "scatter", False, "int64", True),
    "cuda": Profile("cuda", CUDA, "scatter", True, "float64", True),
    "tensorrt": Profile("tensorrt", TENSORRT, "onehot_matmul", True, "float32", False),
}
_BY_PROVIDER = {profile.provider: profile for profile in _PROFILES.values()}


def get_profile(name: object) -> Profile:
    """Return the profile named ``name``: a profile or provider name.

    Raises TypeError if ``name`` is not a str, and ValueError if it names
    no profile.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"Expected argument `provider` to be a str, but got "
            f"{type(name).__name__} {name!r}."
        )
    profile = _PROFILES.get(name) or _BY_PROVIDER.get(name)
    if profile is None:
        choices = list(PROFILES) + list(_BY_PROVIDER)
        raise ValueError(
            f"Expected argument `provider` to be one of {choices}, but got {name!r}."
        )
    return profile


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


def profile_for_providers(providers: Sequence[object] | None) -> str:
    """Return the profile of the first provider of an onnxruntime ``providers`` list.

    A provider without a profile of its own gets the CPU profile, because
    onnxruntime runs on the CPU provider whatever such a provider rejects.
    """
    first = provider_names(providers)[0]
    profile = _BY_PROVIDER.get(first)
    return DEFAULT_PROFILE if profile is None else profile.name


def profile_kernel(kernel: str, profile: str) -> str:
    """Return the concrete kernel for ``kernel`` under ``profile``."""
    if kernel != "auto":
        return kernel
    return get_profile(profile).auto_kernel


def resolve_kernel(kernel: str, providers: Sequence[object] | None) -> str:
    """Return the concrete kernel for ``kernel`` on the first provider.

    ``"auto"`` picks the one-hot matrix product for a provider without a
    profile, because it needs no scatter-add.
    """
    if kernel != "auto":
        return kernel
    first = provider_names(providers)[0]
    if first not in _BY_PROVIDER:
        return "onehot_matmul"
    return _BY_PROVIDER[first].auto_kernel


def accumulate_dtype(profile: str, state_dtype: str) -> str:
    """Return the dtype the accumulate stage sums in for a state dtype."""
    if state_dtype == "int64":
        return get_profile(profile).int64_accumulate
    return state_dtype


def provider_state_dtype(profile: str, state_dtype: str) -> str:
    """Return the dtype the profile's provider really keeps the state in.

    TensorRT casts float64 tensors to float32 (onnx-tensorrt's DOUBLE
    support), so a float64 state counts exactly only up to 2**24 there.
    """
    if state_dtype == "float64" and not get_profile(profile).keeps_float64:
        return "float32"
    return state_dtype


def exact_count_limit(dtype: str) -> int:
    """Return how many unit-weight pairs one cell of ``dtype`` counts exactly."""
    return _EXACT_COUNTS[dtype]
