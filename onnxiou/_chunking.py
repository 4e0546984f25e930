"""Split a batch into pieces for the one-hot matmul kernel.

That kernel keeps ``N x (rows + cols)`` one-hot intermediates, so the
wrapper feeds it pieces of at most ``max_pairs`` label pairs. Sparse labels
are flattened; dense inputs are split along their first axis (when the
class axis is another one), so one very large image is not split.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from onnxiou._inputs import Batch
from onnxiou._spec import MetricSpec

# Bytes the one-hot intermediates of one piece may take.
CHUNK_BYTES = 16 * 2**20


def max_pairs(rows: int, cols: int, itemsize: int) -> int:
    return max(4096, CHUNK_BYTES // ((rows + cols) * itemsize))


def _weight_slice(batch: Batch, start: int, stop: int, unit: int) -> np.ndarray:
    """Weights of pairs ``[start * unit, stop * unit)``, for any weight form."""
    weight = batch.sample_weight
    if weight.shape[0] == 1:
        return weight
    if weight.shape[0] == batch.size:
        return weight[start * unit : stop * unit]
    per_sample = batch.size // weight.shape[0]
    if unit == per_sample:
        return weight[start:stop]
    return np.repeat(weight, per_sample)[start * unit : stop * unit]


def split_sparse(batch: Batch, limit: int) -> Iterator[Batch]:
    y_true = batch.y_true.reshape(-1)
    y_pred = batch.y_pred.reshape(-1)
    for start in range(0, y_true.shape[0], limit):
        stop = min(start + limit, y_true.shape[0])
        yield Batch(
            y_true[start:stop],
            y_pred[start:stop],
            _weight_slice(batch, start, stop, 1),
            (stop - start,),
        )


def split_leading(batch: Batch, limit: int) -> Iterator[Batch]:
    """Split along axis 0, keeping whole samples together."""
    samples = batch.label_shape[0]
    per_sample = batch.size // samples
    step = max(1, limit // per_sample)
    for start in range(0, samples, step):
        stop = min(start + step, samples)
        yield Batch(
            batch.y_true[start:stop],
            batch.y_pred[start:stop],
            _weight_slice(batch, start, stop, per_sample),
            (stop - start,) + batch.label_shape[1:],
        )


def split_batch(batch: Batch, spec: MetricSpec, limit: int) -> Iterator[Batch]:
    """Yield pieces of ``batch`` that together count the same pairs."""
    if batch.size <= limit:
        yield batch
        return
    pred_sparse = spec.sparse_y_pred or spec.threshold is not None
    if spec.sparse_y_true and pred_sparse:
        yield from split_sparse(batch, limit)
        return
    dense = [
        array
        for array, sparse in ((batch.y_true, spec.sparse_y_true), (batch.y_pred, pred_sparse))
        if not sparse
    ]
    leading_ok = (
        batch.label_shape
        and batch.label_shape[0] > 0
        and batch.y_true.shape[:1] == batch.y_pred.shape[:1] == batch.label_shape[:1]
        and all(spec.axis % array.ndim != 0 for array in dense)
    )
    if leading_ok:
        yield from split_leading(batch, limit)
    else:
        yield batch
