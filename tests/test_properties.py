"""Property tests: random configurations and batches against the oracle."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import onnxiou
from tests import oracle

SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def sparse_case(draw):
    classes = draw(st.integers(1, 9))
    size = draw(st.integers(0, 60))
    labels = st.integers(-3, classes + 3) | st.sampled_from([255, 1000])
    y_true = np.array(draw(st.lists(labels, min_size=size, max_size=size)), np.int64)
    y_pred = np.array(draw(st.lists(labels, min_size=size, max_size=size)), np.int64)
    ignore = draw(st.lists(st.sampled_from([-1, 0, 1, classes, 255, 1000]), max_size=3))
    weights = draw(
        st.none()
        | st.lists(st.integers(0, 5), min_size=size, max_size=size).map(np.array)
    )
    return classes, y_true, y_pred, sorted(set(ignore)), weights


def _check(metric, matrix, dropped, ignored, classes):
    np.testing.assert_allclose(metric.total_cm, matrix, rtol=0, atol=1e-9)
    assert metric.dropped_weight == dropped
    assert metric.ignored_weight == ignored
    expected, per_class = oracle.scores(matrix, range(classes))
    assert abs(float(metric.result()) - expected) <= 1e-6
    np.testing.assert_allclose(metric.per_class_iou(), per_class, atol=1e-6)


@SETTINGS
@given(sparse_case(), st.sampled_from(["scatter", "onehot_matmul"]))
def test_matches_oracle(case, kernel):
    classes, y_true, y_pred, ignore, weights = case
    m = onnxiou.MeanIoU(num_classes=classes, ignore_class=ignore or None, kernel=kernel)
    m.update_state(y_true, y_pred, sample_weight=weights)
    matrix, dropped, ignored = oracle.confusion(y_true, y_pred, classes, weights, ignore)
    _check(m, matrix, dropped, ignored, classes)


@SETTINGS
@given(sparse_case())
def test_kernels_agree_exactly(case):
    classes, y_true, y_pred, ignore, weights = case
    results = []
    for kernel in ("scatter", "onehot_matmul"):
        m = onnxiou.MeanIoU(num_classes=classes, ignore_class=ignore or None, kernel=kernel)
        m.update_state(y_true, y_pred, sample_weight=weights)
        results.append((m.total_cm.tobytes(), m.dropped_weight, m.ignored_weight))
    assert results[0] == results[1]


@SETTINGS
@given(sparse_case(), st.integers(1, 5))
def test_one_shot_equals_batch_by_batch(case, pieces):
    classes, y_true, y_pred, ignore, weights = case
    whole = onnxiou.MeanIoU(num_classes=classes, ignore_class=ignore or None)
    whole.update_state(y_true, y_pred, sample_weight=weights)
    split = onnxiou.MeanIoU(num_classes=classes, ignore_class=ignore or None)
    bounds = np.linspace(0, len(y_true), pieces + 1).astype(int)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        piece_weight = None if weights is None else weights[start:stop]
        split.update_state(y_true[start:stop], y_pred[start:stop], piece_weight)
    np.testing.assert_array_equal(split.total_cm, whole.total_cm)
    assert split.result() == whole.result()


@SETTINGS
@given(sparse_case(), sparse_case())
def test_reset_then_reuse(first, second):
    classes, y_true, y_pred, ignore, weights = second
    m = onnxiou.MeanIoU(num_classes=classes, ignore_class=ignore or None)
    _, old_true, old_pred, _, _ = first
    m.update_state(old_true, old_pred)
    m.reset_state()
    m.update_state(y_true, y_pred, sample_weight=weights)
    matrix, dropped, ignored = oracle.confusion(y_true, y_pred, classes, weights, ignore)
    _check(m, matrix, dropped, ignored, classes)


@SETTINGS
@given(
    st.integers(2, 6),
    st.integers(1, 4),
    st.integers(1, 5),
    st.sampled_from([-1, 1, 0]),
    st.data(),
)
def test_dense_logits_any_axis(classes, batch, width, axis, data):
    shape = [batch, width]
    shape.insert(axis if axis >= 0 else len(shape), classes)
    values = st.floats(-3, 3, width=32) | st.just(float("nan"))
    count = int(np.prod(shape))
    flat = data.draw(st.lists(values, min_size=count, max_size=count))
    logits = np.array(flat, dtype=np.float32).reshape(shape)
    y_true = data.draw(
        st.lists(st.integers(0, classes - 1), min_size=batch * width,
                 max_size=batch * width)
    )
    y_true = np.array(y_true).reshape(batch, width)
    m = onnxiou.MeanIoU(num_classes=classes, sparse_y_pred=False, axis=axis)
    m.update_state(y_true, logits)
    matrix, _, _ = oracle.confusion(y_true, oracle.dense_labels(logits, axis), classes)
    np.testing.assert_array_equal(m.total_cm, matrix)


@SETTINGS
@given(
    st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=30),
    st.floats(-2, 2),
)
def test_binary_threshold_matches_oracle(scores, threshold):
    y_pred = np.array(scores, dtype=np.float32)
    y_true = (np.arange(len(scores)) % 2).astype(np.int64)
    m = onnxiou.BinaryIoU(threshold=threshold)
    m.update_state(y_true, y_pred)
    labels = oracle.threshold_labels(y_pred, threshold)
    matrix, _, _ = oracle.confusion(y_true, labels, 2)
    np.testing.assert_array_equal(m.total_cm, matrix)
