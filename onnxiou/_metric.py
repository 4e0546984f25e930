"""The stateful wrapper shared by the five metrics: state, update, result."""

from __future__ import annotations

import copy
import threading
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from onnxiou import _chunking, _inputs, profiles
from onnxiou._session import MetricRunner
from onnxiou._spec import RESULT_DTYPES, MetricSpec, _check_choice
from onnxiou.graph.layout import make_layout
from onnxiou.profiles import provider_names, resolve_kernel

# Keras's accumulator dtypes: its ``dtype`` argument, which onnxiou splits
# into the result dtype and ``state_dtype``. from_config maps them to the
# default float32 result.
_KERAS_ACCUMULATOR_DTYPES = ("int8", "int16", "int32", "int64", "uint8")

# float32 counts stop being exact above this many unit-weight pairs.
_FLOAT32_EXACT = 2**24


class FractionalValueWarning(UserWarning):
    """Sparse labels with fractional values, which are truncated to class ids."""


def _dtype_name(name: str, value: Any) -> str | None:
    """Return the name of a dtype given as a str, numpy dtype or numpy type."""
    if value is None or isinstance(value, str):
        return value
    try:
        return np.dtype(value).name
    except TypeError:
        raise TypeError(
            f"Expected argument `{name}` to be a dtype name such as 'float32', "
            f"but got {type(value).__name__} {value!r}."
        ) from None


def _check_providers(providers: Any) -> list[object] | None:
    """Validate an onnxruntime ``providers`` list against this build of it."""
    if providers is None:
        return None
    if isinstance(providers, (str, bytes)) or not isinstance(providers, Sequence):
        raise TypeError(
            "Expected argument `providers` to be a list of provider names or "
            f"(name, options) pairs, but got {type(providers).__name__} "
            f"{providers!r}."
        )
    import onnxruntime

    available = onnxruntime.get_available_providers()
    for entry in providers:
        pair = isinstance(entry, (tuple, list))
        if pair and (len(entry) != 2 or not isinstance(entry[1], dict)):
            raise ValueError(
                "Expected each (name, options) entry of argument `providers` to "
                f"hold a name and a dict, but got {entry!r}."
            )
        name = entry[0] if pair else entry
        if name not in available:
            raise ValueError(
                f"Expected argument `providers` to name providers of this "
                f"onnxruntime build {available}, but got {name!r}. GPU providers "
                "need the onnxruntime-gpu package."
            )
    return list(providers)


def _default_name(class_name: str) -> str:
    """Keras's automatic metric name: ``MeanIoU`` -> ``mean_io_u``."""
    out = []
    for index, char in enumerate(class_name):
        if char.isupper() and index:
            out.append("_")
        out.append(char.lower())
    return "".join(out)


class _IoUBase:
    """State, update and result shared by the five metrics.

    The confusion matrix is the state: ``total_cm[i, j]`` is the summed
    weight of pairs with true class ``i`` and predicted class ``j``. Updates
    run the update graph and results the result graph; both are built for
    this configuration on first use and cached.
    """

    def __init__(
        self,
        spec: MetricSpec,
        name: str | None,
        dtype: str | None,
        providers: Sequence[object] | None,
    ) -> None:
        self._spec = spec
        self.name = _default_name(type(self).__name__) if name is None else str(name)
        result_dtype = _dtype_name("dtype", dtype) or "float32"
        self._dtype = _check_choice("dtype", result_dtype, RESULT_DTYPES)
        self._providers = _check_providers(providers)
        names = provider_names(self._providers)
        self._kernel = resolve_kernel(spec.kernel, names)
        self._runner = MetricRunner(spec, self._kernel, self._providers or names)
        self._lock = threading.Lock()
        self._dropped = 0.0
        self._ignored = 0.0
        self._warned: set[str] = set()

    # -- Keras API -------------------------------------------------------

    def update_state(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> None:
        """Add a batch of labels and predictions to the confusion matrix.

        Raises TypeError or ValueError, leaving the state unchanged, when an
        argument has the wrong kind, shape or values.
        """
        batch = _inputs.prepare_batch(self._spec, y_true, y_pred, sample_weight)
        self._warn_fractional(batch)
        if batch.size == 0:
            return
        with self._lock:
            pieces = list(self._pieces(batch))
            saved = self._runner.state() if len(pieces) > 1 else None
            try:
                dropped, ignored = self._run_pieces(pieces)
            except BaseException:
                # A piece failed or the update was interrupted: undo the
                # pieces already added, so the update is all or nothing.
                if saved is not None:
                    self._runner.load_state(saved)
                raise
            self._dropped += dropped
            self._ignored += ignored
        self._warn_inexact()

    def __call__(self, y_true: Any, y_pred: Any, sample_weight: Any = None) -> np.generic:
        """Update with a batch and return the result, as a Keras metric call does."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def result(self) -> np.generic:
        """Return the mean IoU over the target classes present so far."""
        with self._lock:
            result, _ = self._runner.scores()
        return result.astype(self._dtype)[()]

    def reset_state(self) -> None:
        """Forget everything seen so far."""
        with self._lock:
            self._runner.reset()
            self._dropped = 0.0
            self._ignored = 0.0

    def get_config(self) -> dict[str, Any]:
        """Return the constructor arguments, as Keras's ``get_config`` does."""
        return {
            "name": self.name,
            "dtype": self._dtype,
            **self._keras_config(),
            "state_dtype": self._spec.state_dtype,
            "kernel": self._spec.kernel,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]):
        """Create a metric from the output of :meth:`get_config`.

        A Keras config works too: Keras's integer ``dtype`` is its
        accumulator's, so it becomes the default float32 result here.
        """
        config = dict(config)
        if config.get("dtype") in _KERAS_ACCUMULATOR_DTYPES:
            config["dtype"] = None
        return cls(**config)

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the configuration and the state, not the sessions."""
        with self._lock:
            return {
                "config": self.get_config(),
                "providers": self._providers,
                "total_cm": self._runner.state(),
                "dropped_weight": self._dropped,
                "ignored_weight": self._ignored,
            }

    def __setstate__(self, saved: dict[str, Any]) -> None:
        fresh = type(self).from_config({**saved["config"], "providers": saved["providers"]})
        self.__dict__.update(fresh.__dict__)
        self.load_state(
            saved["total_cm"],
            dropped_weight=saved["dropped_weight"],
            ignored_weight=saved["ignored_weight"],
        )

    def __deepcopy__(self, memo: dict) -> _IoUBase:
        duplicate = copy.copy(self)
        duplicate.__setstate__(self.__getstate__())
        return duplicate

    # -- beyond Keras ----------------------------------------------------

    def per_class_iou(self) -> np.ndarray:
        """Return IoU per class (float32), NaN for classes absent from both sides."""
        with self._lock:
            _, per_class = self._runner.scores()
        return per_class

    def load_state(
        self,
        total_cm: Any,
        *,
        dropped_weight: float = 0.0,
        ignored_weight: float = 0.0,
    ) -> None:
        """Replace the state with a saved confusion matrix and its counters.

        ``total_cm`` is a matrix as :attr:`total_cm` returns it, for example
        from a checkpoint. Raises TypeError unless it contains numbers, and
        ValueError, leaving the state unchanged, unless it has the shape
        ``(num_classes, num_classes)`` and finite values that the state dtype
        stores exactly, or unless a counter is not a finite number.
        """
        matrix = _checked_state(total_cm, self._spec)
        dropped = _checked_counter("dropped_weight", dropped_weight)
        ignored = _checked_counter("ignored_weight", ignored_weight)
        with self._lock:
            self._runner.load_state(matrix)
            self._dropped = dropped
            self._ignored = ignored

    @property
    def total_cm(self) -> np.ndarray:
        """A copy of the accumulated confusion matrix: rows true, columns predicted."""
        with self._lock:
            return self._runner.state()

    @property
    def num_classes(self) -> int:
        return self._spec.num_classes

    @property
    def target_class_ids(self) -> list[int]:
        return list(self._spec.target_class_ids)

    @property
    def ignore_class(self) -> int | list[int] | None:
        return self._ignore_config()

    @property
    def sparse_y_true(self) -> bool:
        return self._spec.sparse_y_true

    @property
    def sparse_y_pred(self) -> bool:
        return self._spec.sparse_y_pred

    @property
    def axis(self) -> int:
        return self._spec.axis

    @property
    def state_dtype(self) -> str:
        return self._spec.state_dtype

    @property
    def dropped_weight(self) -> float:
        """Summed weight of pairs dropped for a label outside ``[0, num_classes)``.

        NaN sparse labels count here too; pairs of an ignored class do not.
        Without ``sample_weight`` this is the number of such pairs.
        """
        return self._dropped

    @property
    def ignored_weight(self) -> float:
        """Summed weight of pairs whose ``y_true`` is an ignored class."""
        return self._ignored

    @property
    def spec(self) -> MetricSpec:
        """The validated configuration the graphs are built from."""
        return self._spec

    @property
    def kernel(self) -> str:
        """The accumulate kernel in use (``"auto"`` resolved per provider)."""
        return self._kernel

    @property
    def profile(self) -> str:
        """The provider profile of the graphs in use, from the first provider.

        One of ``"cpu"``, ``"cuda"`` and ``"tensorrt"``; see
        :mod:`onnxiou.profiles`.
        """
        return self._runner.profile

    @property
    def providers(self) -> list[object] | None:
        return self._providers

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.get_config()!r})"

    # -- internals -------------------------------------------------------

    def _keras_config(self) -> dict[str, Any]:
        raise NotImplementedError(f"{type(self).__name__} must define its config keys")

    def _ignore_config(self) -> int | list[int] | None:
        ids = list(self._spec.ignore_class)
        if not ids:
            return None
        return ids[0] if len(ids) == 1 else ids

    def _pieces(self, batch: _inputs.Batch):
        if self._kernel != "onehot_matmul":
            return [batch]
        layout = make_layout(self._spec, 0)
        summed = profiles.accumulate_dtype(self.profile, self._spec.state_dtype)
        itemsize = np.dtype(summed).itemsize
        limit = _chunking.max_pairs(layout.rows, layout.cols, itemsize)
        # Unit-weight counts stay exact in the summing dtype (2**24 pairs
        # per cell in float32).
        limit = min(limit, profiles.exact_count_limit(summed))
        return _chunking.split_batch(batch, self._spec, limit)

    def _run_pieces(self, pieces: list[_inputs.Batch]) -> tuple[float, float]:
        dropped = ignored = 0.0
        for piece in pieces:
            piece_dropped, piece_ignored = self._runner.update(
                piece.y_true, piece.y_pred, piece.sample_weight
            )
            dropped += piece_dropped
            ignored += piece_ignored
        return dropped, ignored

    def _warn_once(
        self, key: str, message: str, category: type[Warning] = UserWarning
    ) -> None:
        if key not in self._warned:
            self._warned.add(key)
            warnings.warn(f"{self.name}: {message}", category, stacklevel=4)

    def _warn_fractional(self, batch: _inputs.Batch) -> None:
        spec = self._spec
        if spec.sparse_y_true and _inputs.has_fractional_values(batch.y_true):
            self._warn_once(
                "y_true",
                "y_true contains fractional values; they are truncated toward "
                "zero to class ids, as Keras does.",
                FractionalValueWarning,
            )
        sparse_pred = spec.sparse_y_pred and spec.threshold is None
        if sparse_pred and _inputs.has_fractional_values(batch.y_pred):
            self._warn_once(
                "y_pred",
                "y_pred contains fractional values but sparse_y_pred=True "
                "truncates them to class ids; pass sparse_y_pred=False if y_pred "
                "contains probabilities or logits.",
                FractionalValueWarning,
            )

    def _warn_inexact(self) -> None:
        if self._spec.state_dtype != "float32" or "float32" in self._warned:
            return
        if np.abs(self.total_cm).max() > _FLOAT32_EXACT:
            self._warn_once(
                "float32",
                "a confusion-matrix cell passed 2**24, above which a float32 "
                "state no longer counts exactly; use state_dtype='float64'.",
            )


def _checked_state(total_cm: Any, spec: MetricSpec) -> np.ndarray:
    """Return ``total_cm`` in the state dtype after checking it can be the state."""
    matrix = np.asarray(total_cm)
    if matrix.dtype.kind not in "iuf":
        raise TypeError(
            "Expected argument `total_cm` to contain ints or floats, but got dtype "
            f"{matrix.dtype}."
        )
    if matrix.shape != spec.state_shape:
        raise ValueError(
            f"Expected argument `total_cm` to have shape {spec.state_shape} "
            f"(num_classes x num_classes), but got {matrix.shape}."
        )
    if matrix.dtype.kind == "f" and not np.isfinite(matrix).all():
        raise ValueError(
            "Expected argument `total_cm` to be finite, but it contains NaN or "
            "infinity."
        )
    converted = matrix.astype(spec.state_np_dtype)
    if not np.array_equal(converted, matrix):
        raise ValueError(
            f"Expected argument `total_cm` to contain values that state_dtype="
            f"{spec.state_dtype!r} stores exactly, but converting dtype "
            f"{matrix.dtype} changed some of them."
        )
    return converted


def _checked_counter(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"Expected argument `{name}` to be a number, but got "
            f"{type(value).__name__} {value!r}."
        )
    if not np.isfinite(value):
        raise ValueError(f"Expected argument `{name}` to be finite, but got {value!r}.")
    return float(value)
