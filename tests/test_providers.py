"""Tests of the static execution-provider check.

Expected findings come from the kernel facts: onnxruntime's
OperatorKernels.md for CUDA, onnx-tensorrt's operators.md for TensorRT
10.15, and onnxruntime's version rule. The CPU cases are also run in
onnxruntime, so the check must agree with a real session.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from onnxiou.providers import (
    PROVIDERS,
    Finding,
    assert_no_fallback,
    check_model,
)
from onnxiou.providers._kernels import load_facts

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
TRT = "TensorrtExecutionProvider"

F16 = TensorProto.FLOAT16
F32 = TensorProto.FLOAT
F64 = TensorProto.DOUBLE
I32 = TensorProto.INT32
I64 = TensorProto.INT64
BOOL = TensorProto.BOOL


def single_node_model(
    op_type: str,
    inputs: list[tuple[str, int, list[int]]],
    outputs: list[tuple[str, int, list[int] | None]],
    opset: int,
    initializers: tuple[onnx.TensorProto, ...] = (),
    **attributes: object,
) -> onnx.ModelProto:
    """Build a model of one node named `node` over typed graph inputs."""
    input_names = [name for name, _, _ in inputs]
    input_names += [tensor.name for tensor in initializers]
    node = helper.make_node(
        op_type,
        input_names,
        [name for name, _, _ in outputs],
        name="node",
        **attributes,
    )
    graph = helper.make_graph(
        [node],
        "graph",
        [helper.make_tensor_value_info(*spec) for spec in inputs],
        [helper.make_tensor_value_info(*spec) for spec in outputs],
        list(initializers),
    )
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=10)


def fallbacks(model: onnx.ModelProto, provider: str) -> list[Finding]:
    return [f for f in check_model(model, provider) if f.severity == "fallback"]


def warnings(model: onnx.ModelProto, provider: str) -> list[Finding]:
    return [f for f in check_model(model, provider) if f.severity == "warning"]


def binary(op_type: str, dtype: int, opset: int, out_dtype: int | None = None):
    out = dtype if out_dtype is None else out_dtype
    inputs = [("a", dtype, [2, 2]), ("b", dtype, [2, 2])]
    return single_node_model(op_type, inputs, [("y", out, None)], opset)


def argmax(dtype: int, opset: int = 18) -> onnx.ModelProto:
    return single_node_model(
        "ArgMax", [("x", dtype, [2, 3])], [("y", I64, None)], opset, axis=1
    )


def scatter_elements(dtype: int, reduction: str, opset: int = 18):
    indices = numpy_helper.from_array(np.array([1, 1], np.int64), "indices")
    inputs = [("data", dtype, [4]), ("updates", dtype, [2])]
    node_inputs = ["data", "indices", "updates"]
    return _scatter("ScatterElements", inputs, node_inputs, indices, reduction, opset)


def scatter_nd(dtype: int, reduction: str | None, opset: int = 18):
    indices = numpy_helper.from_array(np.array([[1], [1]], np.int64), "indices")
    inputs = [("data", dtype, [4]), ("updates", dtype, [2])]
    node_inputs = ["data", "indices", "updates"]
    return _scatter("ScatterND", inputs, node_inputs, indices, reduction, opset)


def _scatter(op_type, inputs, node_inputs, indices, reduction, opset):
    attributes = {} if reduction is None else {"reduction": reduction}
    node = helper.make_node(
        op_type, node_inputs, ["y"], name="node", **attributes
    )
    graph = helper.make_graph(
        [node],
        "graph",
        [helper.make_tensor_value_info(*spec) for spec in inputs],
        [helper.make_tensor_value_info("y", inputs[0][1], None)],
        [indices],
    )
    opsets = [helper.make_opsetid("", opset)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=10)


def one_hot(indices: int, depth: int, values: int, depth_constant=False):
    inputs = [("indices", indices, [3])]
    initializers = ()
    if depth_constant:
        np_type = helper.tensor_dtype_to_np_dtype(depth)
        depth_value = np.array(4, dtype=np_type)
        initializers = (numpy_helper.from_array(depth_value, "depth"),)
    else:
        inputs.append(("depth", depth, []))
    inputs.append(("values", values, [2]))
    model = single_node_model(
        "OneHot", inputs, [("y", values, None)], 18, initializers
    )
    # Keep OneHot's input order (indices, depth, values).
    model.graph.node[0].ClearField("input")
    model.graph.node[0].input.extend(["indices", "depth", "values"])
    return model


# --- version rule -----------------------------------------------------------


def test_equal_opset_18_stays_on_cuda():
    model = binary("Equal", I64, 18, out_dtype=BOOL)
    assert check_model(model, CUDA) == []


def test_equal_opset_19_falls_back_on_cuda():
    # CUDA registers Equal 13+ only, and Equal's schema changed at 19.
    findings = fallbacks(binary("Equal", I64, 19, out_dtype=BOOL), CUDA)
    assert len(findings) == 1
    assert findings[0].op_type == "Equal"
    assert findings[0].since_version == 19
    assert "no kernel serves Equal(19)" in findings[0].reason


def test_equal_opset_19_stays_on_cpu():
    assert check_model(binary("Equal", I64, 19, out_dtype=BOOL), CPU) == []


def test_open_ended_kernel_misses_newer_schema():
    # The CPU kernel of GlobalLpPool is registered 2+. The schema changed
    # at 22, so opset 22 has no kernel while 21 still has one.
    def pool(opset):
        return single_node_model(
            "GlobalLpPool", [("x", F32, [1, 1, 3])], [("y", F32, None)], opset
        )

    assert fallbacks(pool(21), CPU) == []
    findings = fallbacks(pool(22), CPU)
    assert len(findings) == 1
    assert findings[0].since_version == 22
    assert "GlobalLpPool(22)" in findings[0].reason
    assert "(kernels: 2+)" in findings[0].reason


# --- type gaps ----------------------------------------------------------------


def test_argmax_int64_falls_back_on_cuda_only():
    model = argmax(I64)
    cuda = fallbacks(model, CUDA)
    assert len(cuda) == 1
    assert cuda[0].bound_types == (("T", "tensor(int64)"),)
    assert "T=tensor(int64) (takes double, float, float16)" in cuda[0].reason
    assert check_model(model, CPU) == []


def test_argmax_float_stays_on_cuda():
    assert check_model(argmax(F32), CUDA) == []


def test_matmul_int64_falls_back_on_cuda():
    model = binary("MatMul", I64, 18)
    assert len(fallbacks(model, CUDA)) == 1
    assert check_model(model, CPU) == []


def test_matmul_int64_falls_back_on_tensorrt():
    findings = fallbacks(binary("MatMul", I64, 18), TRT)
    assert len(findings) == 1
    assert "T=tensor(int64)" in findings[0].reason


def test_clip_int32_falls_back_on_cuda():
    model = single_node_model("Clip", [("x", I32, [3])], [("y", I32, None)], 18)
    assert len(fallbacks(model, CUDA)) == 1
    assert check_model(model, CPU) == []


def test_equal_bool_falls_back_on_tensorrt():
    findings = fallbacks(binary("Equal", BOOL, 18, out_dtype=BOOL), TRT)
    assert len(findings) == 1
    assert "T=tensor(bool)" in findings[0].reason


def test_equal_int64_output_bool_stays_on_tensorrt():
    # Equal's bool output is fixed by the schema, not in TensorRT's table.
    assert check_model(binary("Equal", I64, 18, out_dtype=BOOL), TRT) == []


# --- OneHot triples -------------------------------------------------------------


def test_onehot_int64_int64_float_stays_everywhere():
    model = one_hot(I64, I64, F32)
    assert check_model(model, CPU) == []
    assert check_model(model, CUDA) == []


def test_onehot_int32_float_int64_fails_cpu():
    # Each of int32, float and int64 is listed for its parameter on CPU,
    # but no registered triple combines them.
    model = one_hot(I32, F32, I64)
    findings = fallbacks(model, CPU)
    assert len(findings) == 1
    assert "this combination of types" in findings[0].reason
    assert "NOT_IMPLEMENTED" in findings[0].reason


def test_onehot_cuda_needs_depth_type_of_indices():
    assert len(fallbacks(one_hot(I64, I32, F32), CUDA)) == 1
    assert fallbacks(one_hot(I32, I32, F32), CUDA) == []


def test_onehot_depth_input_falls_back_on_tensorrt():
    findings = fallbacks(one_hot(I64, I64, F32), TRT)
    assert len(findings) == 1
    assert "`depth`" in findings[0].reason


def test_onehot_depth_initializer_stays_on_tensorrt():
    model = one_hot(I64, I64, F32, depth_constant=True)
    assert check_model(model, TRT) == []


# --- scatter reductions ---------------------------------------------------------


@pytest.mark.parametrize("dtype", [I32, I64, TensorProto.UINT32, TensorProto.UINT64])
def test_scatter_elements_integer_add_flagged_on_cuda(dtype):
    findings = fallbacks(scatter_elements(dtype, "add"), CUDA)
    assert len(findings) == 1
    assert "silently wrong" in findings[0].reason


@pytest.mark.parametrize("dtype", [F16, F32, F64])
def test_scatter_elements_float_add_stays_on_cuda(dtype):
    assert check_model(scatter_elements(dtype, "add"), CUDA) == []


def test_scatter_elements_integer_none_stays_on_cuda():
    assert check_model(scatter_elements(I64, "none"), CUDA) == []


@pytest.mark.parametrize("reduction", ["mul", "min", "max"])
def test_scatter_nd_reduction_throws_on_cuda(reduction):
    findings = fallbacks(scatter_nd(F32, reduction), CUDA)
    assert len(findings) == 1
    assert f"reduction={reduction!r}" in findings[0].reason


def test_scatter_nd_float_add_stays_on_cuda():
    assert check_model(scatter_nd(F32, "add"), CUDA) == []


def test_scatter_nd_add_falls_back_on_tensorrt():
    assert len(fallbacks(scatter_nd(F32, "add"), TRT)) == 1


def test_scatter_nd_explicit_none_warns_on_tensorrt():
    model = scatter_nd(F32, "none")
    assert fallbacks(model, TRT) == []
    assert len(warnings(model, TRT)) == 1


def test_scatter_nd_without_reduction_stays_on_tensorrt():
    assert check_model(scatter_nd(F32, None), TRT) == []


def test_scatter_plugin_int32_indices_on_tensorrt():
    indices = numpy_helper.from_array(np.array([1, 1], np.int32), "indices")
    inputs = [("data", F32, [4]), ("updates", F32, [2])]
    model = _scatter(
        "ScatterElements", inputs, ["data", "indices", "updates"], indices, "add", 18
    )
    findings = fallbacks(model, TRT)
    assert len(findings) == 1
    assert "int64 indices" in findings[0].reason
    assert check_model(scatter_elements(F32, "add"), TRT) == []


# --- TensorRT notes -------------------------------------------------------------


def test_double_warns_on_tensorrt():
    model = binary("Add", F64, 18)
    assert fallbacks(model, TRT) == []
    found = warnings(model, TRT)
    assert len(found) == 1
    assert "DOUBLE to FLOAT" in found[0].reason


def test_opset_above_tensorrt_range_falls_back():
    findings = fallbacks(binary("Add", F32, 25), TRT)
    assert len(findings) == 1
    assert "opsets 9-24" in findings[0].reason


def test_reduce_sum_dynamic_axes_on_tensorrt():
    inputs = [("x", F32, [2, 3]), ("axes", I64, [1])]
    model = single_node_model("ReduceSum", inputs, [("y", F32, None)], 18)
    findings = fallbacks(model, TRT)
    assert len(findings) == 1
    assert "`axes`" in findings[0].reason


def test_bitshift_unsupported_on_tensorrt_and_cuda():
    model = binary("BitShift", TensorProto.UINT8, 18)
    model.graph.node[0].attribute.append(helper.make_attribute("direction", "LEFT"))
    assert len(fallbacks(model, TRT)) == 1
    assert len(fallbacks(model, CUDA)) == 1
    assert check_model(model, CPU) == []


def _top_k(k: int, k_constant: bool, **attributes: object) -> onnx.ModelProto:
    k_tensor = numpy_helper.from_array(np.array([k], np.int64), "k")
    inputs = [("x", F32, [4000])]
    if not k_constant:
        inputs.append(("k", I64, [1]))
    initializers = (k_tensor,) if k_constant else ()
    outputs = [("values", F32, None), ("indices", I64, None)]
    return single_node_model("TopK", inputs, outputs, 18, initializers, **attributes)


def test_topk_unsorted_falls_back_on_tensorrt():
    findings = fallbacks(_top_k(3, k_constant=True, sorted=0), TRT)
    assert len(findings) == 1
    assert "sorted=1" in findings[0].reason


def test_topk_large_constant_k_falls_back_on_tensorrt():
    findings = fallbacks(_top_k(3840, k_constant=True), TRT)
    assert len(findings) == 1
    assert "K < 3840, got 3840" in findings[0].reason
    assert check_model(_top_k(3839, k_constant=True), TRT) == []


def test_topk_input_k_stays_on_tensorrt():
    assert check_model(_top_k(3, k_constant=False), TRT) == []


def _cast_chain(first: int, second: int) -> onnx.ModelProto:
    nodes = [
        helper.make_node("Cast", ["x"], ["mid"], name="first", to=first),
        helper.make_node("Cast", ["mid"], ["y"], name="second", to=second),
    ]
    graph = helper.make_graph(
        nodes,
        "graph",
        [helper.make_tensor_value_info("x", I64, [3])],
        [helper.make_tensor_value_info("y", second, None)],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10
    )


def test_internal_uint8_falls_back_on_tensorrt():
    model = _cast_chain(TensorProto.UINT8, F32)
    names = sorted(f.node_name for f in fallbacks(model, TRT))
    assert names == ["first", "second"]


def test_uint8_model_output_stays_on_tensorrt():
    model = _cast_chain(F32, TensorProto.UINT8)
    assert check_model(model, TRT) == []


def _if_model(then_shape: list[int], else_shape: list[int]) -> onnx.ModelProto:
    def branch(name, shape):
        value = numpy_helper.from_array(np.zeros(shape, np.float32))
        node = helper.make_node("Constant", [], [name], value=value)
        output = helper.make_tensor_value_info(name, F32, shape)
        return helper.make_graph([node], name, [], [output])

    node = helper.make_node(
        "If",
        ["c"],
        ["y"],
        name="if",
        then_branch=branch("t", then_shape),
        else_branch=branch("e", else_shape),
    )
    graph = helper.make_graph(
        [node],
        "graph",
        [helper.make_tensor_value_info("c", BOOL, [])],
        [helper.make_tensor_value_info("y", F32, None)],
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10
    )


def test_if_branch_ranks_differ_on_tensorrt():
    findings = fallbacks(_if_model([2], [2, 2]), TRT)
    assert len(findings) == 1
    assert "equal rank" in findings[0].reason
    assert check_model(_if_model([2], [3]), TRT) == []


def _loop_model(trip_count_constant: bool) -> onnx.ModelProto:
    body = helper.make_graph(
        [
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
            helper.make_node("Identity", ["x"], ["scan"]),
        ],
        "body",
        [
            helper.make_tensor_value_info("i", I64, []),
            helper.make_tensor_value_info("cond_in", BOOL, []),
        ],
        [
            helper.make_tensor_value_info("cond_out", BOOL, []),
            helper.make_tensor_value_info("scan", F32, [2]),
        ],
    )
    node = helper.make_node("Loop", ["m", "cond"], ["scans"], name="loop", body=body)
    inputs = [
        helper.make_tensor_value_info("cond", BOOL, []),
        helper.make_tensor_value_info("x", F32, [2]),
    ]
    initializers = []
    trip_count = numpy_helper.from_array(np.array(3, np.int64), "m")
    if trip_count_constant:
        initializers.append(trip_count)
    else:
        inputs.append(helper.make_tensor_value_info("m", I64, []))
    graph = helper.make_graph(
        [node],
        "graph",
        inputs,
        [helper.make_tensor_value_info("scans", F32, None)],
        initializers,
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10
    )


def test_loop_dynamic_trip_count_on_tensorrt():
    findings = fallbacks(_loop_model(trip_count_constant=False), TRT)
    assert [f.node_name for f in findings] == ["loop"]
    assert "constant trip count" in findings[0].reason
    assert fallbacks(_loop_model(trip_count_constant=True), TRT) == []


def test_scatter_elements_int8_add_unverified_on_cuda():
    model = scatter_elements(TensorProto.INT8, "add")
    assert fallbacks(model, CUDA) == []
    found = warnings(model, CUDA)
    assert len(found) == 1
    assert "unverified" in found[0].reason


# --- graph walk -----------------------------------------------------------------


def test_subgraph_nodes_are_checked():
    then_branch = helper.make_graph(
        [helper.make_node("ArgMax", ["x"], ["t"], name="inner", axis=0)],
        "then",
        [],
        [helper.make_tensor_value_info("t", I64, None)],
    )
    else_branch = helper.make_graph(
        [helper.make_node("ArgMin", ["x"], ["e"], name="inner_else", axis=0)],
        "else",
        [],
        [helper.make_tensor_value_info("e", I64, None)],
    )
    node = helper.make_node(
        "If", ["c"], ["y"], then_branch=then_branch, else_branch=else_branch
    )
    graph = helper.make_graph(
        [node],
        "graph",
        [
            helper.make_tensor_value_info("c", BOOL, []),
            helper.make_tensor_value_info("x", I64, [3]),
        ],
        [helper.make_tensor_value_info("y", I64, None)],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10
    )
    names = sorted(f.node_name for f in fallbacks(model, CUDA))
    assert names == ["inner", "inner_else"]


def test_constant_node_is_skipped():
    constant = helper.make_node(
        "Constant",
        [],
        ["c"],
        value=numpy_helper.from_array(np.ones(3, np.float32)),
    )
    add = helper.make_node("Add", ["x", "c"], ["y"], name="add")
    graph = helper.make_graph(
        [constant, add],
        "graph",
        [helper.make_tensor_value_info("x", F32, [3])],
        [helper.make_tensor_value_info("y", F32, None)],
    )
    for opset in (13, 19, 25):
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10
        )
        assert check_model(model, CPU) == []
        assert check_model(model, CUDA) == []


def test_local_function_body_is_checked():
    function = helper.make_function(
        "local",
        "ArgMaxFn",
        ["x"],
        ["y"],
        [helper.make_node("ArgMax", ["x"], ["y"], name="fn_argmax", axis=0)],
        [helper.make_opsetid("", 18)],
    )
    node = helper.make_node("ArgMaxFn", ["x"], ["y"], domain="local")
    graph = helper.make_graph(
        [node],
        "graph",
        [helper.make_tensor_value_info("x", I64, [3])],
        [helper.make_tensor_value_info("y", I64, None)],
    )
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("local", 1)]
    model = helper.make_model(
        graph, opset_imports=opsets, functions=[function], ir_version=10
    )
    findings = fallbacks(model, CUDA)
    assert [f.op_type for f in findings] == ["ArgMax"]


def test_op_outside_facts_warns_on_cuda():
    model = single_node_model(
        "Softmax", [("x", F32, [2, 3])], [("y", F32, None)], 18
    )
    found = warnings(model, CUDA)
    assert len(found) == 1
    assert "do not cover" in found[0].reason


def test_op_without_onnx_schema_warns():
    node = helper.make_node("Gelu", ["x"], ["y"], domain="com.microsoft", name="gelu")
    graph = helper.make_graph(
        [node],
        "graph",
        [helper.make_tensor_value_info("x", F32, [3])],
        [helper.make_tensor_value_info("y", F32, [3])],
    )
    opsets = [helper.make_opsetid("", 18), helper.make_opsetid("com.microsoft", 1)]
    model = helper.make_model(graph, opset_imports=opsets, ir_version=10)
    findings = check_model(model)
    assert [f.provider for f in findings] == list(PROVIDERS)
    for finding in findings:
        assert finding.severity == "warning"
        assert "no ONNX schema" in finding.reason


def test_unnamed_node_reported_by_output():
    model = argmax(I64)
    model.graph.node[0].name = ""
    assert fallbacks(model, CUDA)[0].node_name == "<y>"


# --- CPU check agrees with onnxruntime ----------------------------------------------


def _feeds(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    feeds = {}
    for info in model.graph.input:
        tensor_type = info.type.tensor_type
        shape = [d.dim_value for d in tensor_type.shape.dim]
        np_type = helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        feeds[info.name] = np.ones(shape, dtype=np_type)
    return feeds


def _run_on_cpu(model: onnx.ModelProto) -> None:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=[CPU]
    )
    session.run(None, _feeds(model))


def _where(dtype: int) -> onnx.ModelProto:
    inputs = [("c", BOOL, [3]), ("a", dtype, [3]), ("b", dtype, [3])]
    return single_node_model("Where", inputs, [("y", dtype, None)], 18)


def _global_lp_pool(opset: int) -> onnx.ModelProto:
    return single_node_model(
        "GlobalLpPool", [("x", F32, [1, 1, 3])], [("y", F32, None)], opset
    )


CPU_PASSES = {
    "argmax_int64": argmax(I64),
    "matmul_int64": binary("MatMul", I64, 18),
    "equal_19_int64": binary("Equal", I64, 19, out_dtype=BOOL),
    "where_int64": _where(I64),
    "onehot_int64_int64_float": one_hot(I64, I64, F32),
    "global_lp_pool_21": _global_lp_pool(21),
    "scatter_elements_f16_max": scatter_elements(F16, "max"),
}

CPU_NOT_IMPLEMENTED = {
    "where_bool": _where(BOOL),
    "gemm_int64": binary("Gemm", I64, 18),
    "onehot_int32_float_int64": one_hot(I32, F32, I64),
    "global_lp_pool_22": _global_lp_pool(22),
}

def _bfloat16_scatter_elements(reduction: str) -> onnx.ModelProto:
    # numpy has no bfloat16, so the model casts from and to float32.
    model = scatter_elements(F32, reduction)
    graph = model.graph
    graph.node[0].input[0] = "data_bf16"
    graph.node[0].input[2] = "updates_bf16"
    graph.node[0].output[0] = "y_bf16"
    bf16 = TensorProto.BFLOAT16
    casts = [
        helper.make_node("Cast", ["data"], ["data_bf16"], to=bf16),
        helper.make_node("Cast", ["updates"], ["updates_bf16"], to=bf16),
        helper.make_node("Cast", ["y_bf16"], ["y"], to=F32),
    ]
    nodes = [casts[0], casts[1], graph.node[0], casts[2]]
    graph.ClearField("node")
    graph.node.extend(nodes)
    return model


CPU_RAISES_AT_RUN = {
    "scatter_elements_bf16_max": _bfloat16_scatter_elements("max"),
    "scatter_elements_f16_add": scatter_elements(F16, "add"),
    "scatter_elements_f16_mul": scatter_elements(F16, "mul"),
    "scatter_nd_f16_add": scatter_nd(F16, "add"),
    "scatter_nd_f16_max": scatter_nd(F16, "max"),
}


@pytest.mark.parametrize("name", sorted(CPU_PASSES))
def test_cpu_pass_runs(name):
    model = CPU_PASSES[name]
    assert check_model(model, CPU) == []
    _run_on_cpu(model)


@pytest.mark.parametrize("name", sorted(CPU_NOT_IMPLEMENTED))
def test_cpu_fallback_is_not_implemented(name):
    model = CPU_NOT_IMPLEMENTED[name]
    assert len(fallbacks(model, CPU)) == 1
    with pytest.raises(Exception, match="NOT_IMPLEMENTED"):
        _run_on_cpu(model)


@pytest.mark.parametrize("name", sorted(CPU_RAISES_AT_RUN))
def test_cpu_scatter_trap_raises_at_run(name):
    model = CPU_RAISES_AT_RUN[name]
    findings = fallbacks(model, CPU)
    assert len(findings) == 1
    assert "raises at Run()" in findings[0].reason
    with pytest.raises(Exception, match="not supported with Scatter"):
        _run_on_cpu(model)


def test_cpu_float16_runs_through_casts():
    # CPU has no float16 Add, so onnxruntime casts it to float32 and back.
    model = binary("Add", F16, 18)
    assert fallbacks(model, CPU) == []
    assert len(warnings(model, CPU)) == 1
    _run_on_cpu(model)


def test_cpu_function_op_expanded():
    # onnxruntime 1.32 has no CPU kernel for Mish-22 but expands its body.
    model = single_node_model("Mish", [("x", F32, [3])], [("y", F32, None)], 22)
    assert fallbacks(model, CPU) == []
    assert "function body" in warnings(model, CPU)[0].reason
    _run_on_cpu(model)


# --- public API ----------------------------------------------------------------


def test_all_providers_checked_by_default():
    providers = {f.provider for f in check_model(binary("MatMul", I64, 18))}
    assert providers == {CUDA, TRT}
    assert PROVIDERS == (CPU, CUDA, TRT)


def test_assert_no_fallback_lists_offending_nodes():
    with pytest.raises(ValueError) as raised:
        assert_no_fallback(binary("Equal", I64, 19, out_dtype=BOOL), CUDA)
    message = str(raised.value)
    assert message.startswith("1 fallback finding(s) on CUDAExecutionProvider:")
    assert "node 'node' Equal(19)" in message
    assert "T=tensor(int64), T1=tensor(bool)" in message


def test_assert_no_fallback_passes_clean_model():
    assert_no_fallback(binary("Equal", I64, 18, out_dtype=BOOL), CUDA)


def test_check_model_rejects_non_model():
    with pytest.raises(TypeError, match="model must be an onnx.ModelProto, got bytes"):
        check_model(b"not a model", CPU)


def test_check_model_rejects_unknown_provider():
    with pytest.raises(ValueError, match="provider must be one of .* got 'ROCm'"):
        check_model(argmax(F32), "ROCm")


def test_check_model_rejects_invalid_model():
    model = binary("Add", F32, 18)
    model.graph.input[1].type.tensor_type.elem_type = I64
    with pytest.raises(ValueError, match="strict ONNX shape inference"):
        check_model(model, CPU)


def test_facts_ship_with_their_sources():
    source = load_facts()["source"]
    commit = source["onnxruntime_OperatorKernels_md"]["commit"]
    assert commit.startswith("001d12d2623f")
    assert "10.15" in source["tensorrt"]["primary"]
