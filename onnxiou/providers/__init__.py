"""Static check of which ONNX nodes onnxruntime can keep on an execution provider.

`check_model` walks a model, subgraphs included, and reports the nodes
that the CPU, CUDA or TensorRT execution provider cannot run as they are.
Such a node has no kernel for its schema version and bound types, or its
kernel is known to throw or to compute wrong values at run time.
`assert_no_fallback` raises ValueError on such nodes.

Where the facts come from:

- CPU: the kernel registry of the installed onnxruntime, read through
  `onnxruntime.capi.onnxruntime_pybind11_state.get_all_opkernel_def()`.
  The run-time traps of CPU scatter reductions were measured with
  onnxruntime 1.32.0.
- CUDA: onnxruntime's `docs/OperatorKernels.md` at the commit recorded in
  `onnxiou/data/ep_kernels.json` (`source.onnxruntime_OperatorKernels_md`),
  with OneHot's type triples and the scatter semantics read from the CUDA
  kernel sources listed under `source.cuda_source_files_read`.
- TensorRT: onnx-tensorrt `docs/operators.md` for TensorRT 10.15 (ONNX
  opsets 9-24), the 10.1 importer source and the ScatterElements plugin
  config, as recorded under `source.tensorrt`.
- The version rule: onnxruntime's `kernel_registry.cc` (`VerifyVersion`).
  A kernel serves a node when its first version equals the schema's
  `since_version`, or when its range is closed and contains it. An
  open-ended `13+` kernel does not serve a schema that changed at 19.

The CUDA and TensorRT facts come from documents and sources, not from runs
on a GPU, and may differ from a given onnxruntime GPU build.
"""

from onnxiou.providers._check import (
    PROVIDERS,
    Finding,
    Severity,
    assert_no_fallback,
    check_model,
)

__all__ = [
    "PROVIDERS",
    "Finding",
    "Severity",
    "assert_no_fallback",
    "check_model",
]
