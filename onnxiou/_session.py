"""onnxruntime sessions for a metric, and its state kept as an OrtValue."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import onnxruntime as ort

from onnxiou._spec import MetricSpec
from onnxiou.profiles import profile_for_providers

if TYPE_CHECKING:
    from onnxiou.graph.model import GraphOptions

logger = logging.getLogger(__name__)

# Providers whose tensors live in CUDA memory, where the state is kept.
_CUDA_PROVIDERS = ("CUDAExecutionProvider", "TensorrtExecutionProvider")


@functools.lru_cache(maxsize=64)
def _model_bytes(spec: MetricSpec, kind: str, options: GraphOptions) -> bytes:
    # Imported here: onnx and onnxscript take most of `import onnxiou`'s time.
    from onnxiou.graph.model import build_graph

    return build_graph(spec, kind, options).SerializeToString()


@functools.lru_cache(maxsize=64)
def _session(
    spec: MetricSpec, kind: str, options: GraphOptions, providers: tuple
) -> ort.InferenceSession:
    logger.debug("creating %s session for %s on %s", kind, spec.metric, providers)
    session_options = ort.SessionOptions()
    session_options.log_severity_level = 3
    return ort.InferenceSession(
        _model_bytes(spec, kind, options),
        sess_options=session_options,
        providers=_thaw(providers),
    )


def _freeze(providers: Sequence[object]) -> tuple:
    """Make a providers list hashable, for the session cache."""
    frozen = []
    for entry in providers:
        if isinstance(entry, (tuple, list)):
            name, options = entry
            frozen.append((name, tuple(sorted(dict(options).items()))))
        else:
            frozen.append(entry)
    return tuple(frozen)


def _thaw(providers: tuple) -> list:
    return [
        (entry[0], dict(entry[1])) if isinstance(entry, tuple) else entry
        for entry in providers
    ]


class _UpdateCall:
    """An update session with its two IO bindings, bound once.

    Binding ``k`` reads the state from ``states[k]`` and writes the new
    state into ``states[1 - k]``. The scalar outputs land in numpy arrays
    that share memory with their OrtValues, so a call rebinds only the
    three inputs and reads two floats without a copy.
    """

    def __init__(self, session: ort.InferenceSession, states: list, dtype: np.dtype):
        self.session = session
        self.dropped = np.zeros((), dtype=dtype)
        self.ignored = np.zeros((), dtype=dtype)
        dropped_value = ort.OrtValue.ortvalue_from_numpy(self.dropped)
        ignored_value = ort.OrtValue.ortvalue_from_numpy(self.ignored)
        self.bindings = []
        for source in (0, 1):
            binding = session.io_binding()
            binding.bind_ortvalue_input("total_cm", states[source])
            binding.bind_ortvalue_output("total_cm_out", states[1 - source])
            binding.bind_ortvalue_output("dropped_weight", dropped_value)
            binding.bind_ortvalue_output("ignored_weight", ignored_value)
            self.bindings.append(binding)

    def run(self, source: int, y_true, y_pred, sample_weight) -> tuple[float, float]:
        binding = self.bindings[source]
        binding.bind_cpu_input("y_true", y_true)
        binding.bind_cpu_input("y_pred", y_pred)
        binding.bind_cpu_input("sample_weight", sample_weight)
        self.session.run_with_iobinding(binding)
        return float(self.dropped), float(self.ignored)


class MetricRunner:
    """Runs a metric's update and result graphs on one set of providers.

    The state lives in an OrtValue on the first provider's device and is
    bound with IO binding, so on a GPU it stays on the device between
    updates. Each update writes into the other of two state OrtValues,
    which becomes the state only after the run succeeds, so a failed run
    leaves the state as it was. The graphs are built for the provider
    profile of the first provider (see onnxiou.profiles).
    """

    def __init__(self, spec: MetricSpec, kernel: str, providers: Sequence[object]):
        self._spec = spec
        self._kernel = kernel
        self._providers = _freeze(providers)
        first = _thaw(self._providers)[0]
        first_name = first[0] if isinstance(first, tuple) else first
        self._device = "cuda" if first_name in _CUDA_PROVIDERS else "cpu"
        self.profile = profile_for_providers(self._providers)
        self._allocated: list[ort.OrtValue] = []
        self._current = 0
        self._update_calls: dict[tuple, _UpdateCall] = {}

    @property
    def _state(self) -> ort.OrtValue:
        return self._states[self._current]

    @property
    def _states(self) -> list[ort.OrtValue]:
        """The two state buffers, allocated on first use (exports need none)."""
        if not self._allocated:
            self._allocated = [self._new_state(), self._new_state()]
        return self._allocated

    def _new_state(self) -> ort.OrtValue:
        try:
            zeros = self._spec.zero_state()
        except MemoryError:
            size = self._spec.num_classes**2 * self._spec.state_np_dtype.itemsize
            raise MemoryError(
                f"The {self._spec.num_classes} x {self._spec.num_classes} "
                f"{self._spec.state_dtype} confusion matrix needs "
                f"{size / 2**30:.1f} GiB; reduce num_classes."
            ) from None
        return ort.OrtValue.ortvalue_from_numpy(zeros, self._device, 0)

    def session(self, kind: str, y_true: np.ndarray | None, y_pred: np.ndarray | None):
        """Return the cached session of graph ``kind`` for these inputs' dtypes and ranks."""
        from onnxiou.graph.model import GraphOptions

        if y_true is None or y_pred is None:
            options = GraphOptions(
                "int64", "int64", self._kernel, provider=self.profile
            )
        else:
            options = GraphOptions(
                y_true.dtype.name,
                y_pred.dtype.name,
                self._kernel,
                y_true_rank=y_true.ndim,
                y_pred_rank=y_pred.ndim,
                provider=self.profile,
            )
        return _session(self._spec, kind, options, self._providers)

    def _update_call(self, y_true: np.ndarray, y_pred: np.ndarray) -> _UpdateCall:
        key = (y_true.dtype, y_pred.dtype, y_true.ndim, y_pred.ndim)
        call = self._update_calls.get(key)
        if call is None:
            session = self.session("update", y_true, y_pred)
            call = _UpdateCall(session, self._states, self._spec.state_np_dtype)
            self._update_calls[key] = call
        return call

    def update(
        self, y_true: np.ndarray, y_pred: np.ndarray, sample_weight: np.ndarray
    ) -> tuple[float, float]:
        """Add one batch to the state; return its (dropped, ignored) weight."""
        call = self._update_call(y_true, y_pred)
        weights = call.run(self._current, y_true, y_pred, sample_weight)
        self._current = 1 - self._current
        return weights

    def scores(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (result, per_class_iou) of the current state."""
        session = self.session("result", None, None)
        binding = session.io_binding()
        binding.bind_ortvalue_input("total_cm", self._state)
        binding.bind_output("result")
        binding.bind_output("per_class_iou")
        session.run_with_iobinding(binding)
        result, per_class = binding.copy_outputs_to_cpu()
        return result, per_class

    def state(self) -> np.ndarray:
        """Return a copy of the state, because OrtValue.numpy() shares the CPU buffer."""
        return np.array(self._state.numpy(), copy=True)

    def load_state(self, matrix: np.ndarray) -> None:
        self._state.update_inplace(np.ascontiguousarray(matrix, self._spec.state_dtype))

    def reset(self) -> None:
        self.load_state(self._spec.zero_state())
