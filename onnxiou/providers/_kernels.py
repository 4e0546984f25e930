"""Kernel tables of onnxruntime's execution providers and its matching rule.

The CPU table is read from the installed onnxruntime. The CUDA and
TensorRT facts are read from `onnxiou/data/ep_kernels.json`, whose
`source` entry names the documents and commits they come from.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

# onnxruntime's KernelDef stores an open-ended version range as INT_MAX.
_OPEN_END = 2**31 - 1

# OneHot's type parameters, in the order of the JSON's triples.
_ONEHOT_PARAMS = ("T1", "T2", "T3")

# TensorRT type names in the JSON, as ONNX type strings.
_TRT_TYPES = {
    "FP32": "tensor(float)",
    "FP16": "tensor(float16)",
    "BF16": "tensor(bfloat16)",
    "INT32": "tensor(int32)",
    "INT64": "tensor(int64)",
    "BOOL": "tensor(bool)",
    "UINT8": "tensor(uint8)",
    "INT8": "tensor(int8)",
    "INT4": "tensor(int4)",
    "FP8": "tensor(float8e4m3fn)",
    "FP4": "tensor(float4e2m1)",
}


@dataclass(frozen=True)
class Kernel:
    """One registered kernel: an opset range and its allowed types.

    `until` is None for an open-ended range. `constraints` maps a type
    constraint name, or a formal parameter name, to ONNX type strings.
    """

    since: int
    until: int | None
    constraints: Mapping[str, frozenset[str]]

    def serves(self, since_version: int) -> bool:
        """Apply onnxruntime's version rule (`VerifyVersion`).

        A kernel serves its own `since` version, and a newer schema version
        only when its range is closed. An open-ended `13+` kernel does not
        serve a schema that changed at opset 19.
        """
        if self.since == since_version:
            return True
        closed = self.until is not None
        return closed and self.since < since_version <= self.until

    def accepts(self, resolve: Callable[[str], str | None]) -> bool:
        """Check the bound types against every constraint of this kernel.

        A constraint with no bound argument (an absent optional input)
        is not checked, as in onnxruntime's `MatchKernelDefTypes`.
        """
        for name, allowed in self.constraints.items():
            bound = resolve(name)
            if bound is not None and bound not in allowed:
                return False
        return True

    def describe_range(self) -> str:
        """Return the range as OperatorKernels.md writes it: `13+`, `11-12`."""
        if self.until is None:
            return f"{self.since}+"
        return f"{self.since}-{self.until}"


@functools.cache
def load_facts() -> dict[str, Any]:
    """Load the provider facts shipped in `onnxiou/data/ep_kernels.json`."""
    path = resources.files("onnxiou").joinpath("data", "ep_kernels.json")
    return json.loads(path.read_text(encoding="utf-8"))


@functools.cache
def _cpu_registry() -> dict[tuple[str, str], tuple[Kernel, ...]]:
    from onnxruntime.capi import onnxruntime_pybind11_state as ort_state

    registry: dict[tuple[str, str], list[Kernel]] = {}
    for kernel_def in ort_state.get_all_opkernel_def():
        if kernel_def.provider != "CPUExecutionProvider":
            continue
        since, until = kernel_def.version_range
        constraints = {
            name: frozenset(allowed)
            for name, allowed in kernel_def.type_constraints.items()
        }
        kernel = Kernel(since, None if until == _OPEN_END else until, constraints)
        key = (kernel_def.domain, kernel_def.op_name)
        registry.setdefault(key, []).append(kernel)
    return {key: tuple(kernels) for key, kernels in registry.items()}


def cpu_kernels(domain: str, op_type: str) -> tuple[Kernel, ...]:
    """Return the installed onnxruntime's CPU kernels for one op."""
    return _cpu_registry().get((domain, op_type), ())


def _as_type_string(name: str) -> str:
    # The JSON writes tensor types as OperatorKernels.md does: `float`.
    return name if "(" in name else f"tensor({name})"


def _json_kernel(entry: Mapping[str, Any]) -> Kernel:
    constraints = {
        name: frozenset(_as_type_string(t) for t in allowed)
        for name, allowed in entry["types"].items()
    }
    return Kernel(entry["since"], entry["until"], constraints)


def _split_triples(kernel: Kernel, triples: list[list[str]]) -> list[Kernel]:
    # One kernel per (indices, depth, values) triple the merged lists allow.
    split = []
    for triple in triples:
        types = map(_as_type_string, triple)
        pairs = list(zip(_ONEHOT_PARAMS, types, strict=True))
        if all(t in kernel.constraints.get(p, ()) for p, t in pairs):
            constraints = dict(kernel.constraints)
            constraints.update((p, frozenset([t])) for p, t in pairs)
            split.append(Kernel(kernel.since, kernel.until, constraints))
    return split


@functools.cache
def fact_kernels(provider: str, op_type: str) -> tuple[Kernel, ...] | None:
    """Return the recorded kernels of `provider` for a default-domain op.

    Returns None when the facts do not cover the op. OneHot is expanded
    into its registered type triples where the facts list them.
    """
    facts = load_facts()
    entries = facts[provider].get(op_type)
    if entries is None:
        return None
    kernels = [_json_kernel(entry) for entry in entries]
    combinations = facts.get(f"{provider}_type_combinations", {})
    triples = combinations.get(op_type, {}).get("triples_T1_T2_T3")
    if triples is not None:
        kernels = [k for kernel in kernels for k in _split_triples(kernel, triples)]
    return tuple(kernels)


def trt_entry(op_type: str) -> Mapping[str, Any] | None:
    """Return the TensorRT parser's record for a default-domain op."""
    return load_facts()["TensorrtExecutionProvider"].get(op_type)


def trt_types(entry: Mapping[str, Any]) -> frozenset[str]:
    """Return the ONNX type strings a TensorRT record lists."""
    return frozenset(_TRT_TYPES[name] for name in entry["types"])


def trt_opset_range() -> tuple[str, int, int]:
    """Return the newest recorded TensorRT release and its ONNX opset range."""
    ranges = load_facts()["TensorrtExecutionProvider_general"]["opset_range"]
    release, (low, high) = max(ranges.items(), key=lambda item: item[1][1])
    return release.replace("TRT", "TensorRT"), low, high
