"""Bad arguments raise clear errors and never touch the state."""

import threading

import numpy as np
import pytest

import onnxiou


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"num_classes": 0}, ValueError, "`num_classes` to be at least 1, but got 0"),
        ({"num_classes": 2.5}, TypeError, "`num_classes` to be an int, but got float"),
        ({"num_classes": True}, TypeError, "`num_classes` to be an int"),
        ({"num_classes": 3, "ignore_class": "void"}, TypeError, "`ignore_class`"),
        ({"num_classes": 3, "axis": "last"}, TypeError, "`axis` to be an int"),
        ({"num_classes": 3, "kernel": "magic"}, ValueError, "`kernel` to be one of"),
        ({"num_classes": 3, "state_dtype": "int8"}, ValueError, "`state_dtype`"),
        ({"num_classes": 3, "dtype": "int32"}, ValueError, "`dtype` to be one of"),
        ({"num_classes": 3, "sparse_y_true": 1}, TypeError, "`sparse_y_true`"),
    ],
)
def test_mean_iou_constructor_errors(kwargs, error, words):
    with pytest.raises(error, match=words.replace("(", r"\(").replace("[", r"\[")):
        onnxiou.MeanIoU(**kwargs)


@pytest.mark.parametrize(
    ("target_class_ids", "error", "words"),
    [
        ([3], ValueError, r"in \[0, num_classes\) = \[0, 3\), but got 3"),
        ([-1], ValueError, r"but got -1"),
        ([0, 0], ValueError, r"distinct ids, but got \[0, 0\]"),
        ([], ValueError, "at least one class"),
        (0, TypeError, "list or tuple of ints, but got int"),
        (["a"], TypeError, "to be an int, but got str"),
    ],
)
def test_target_class_id_errors(target_class_ids, error, words):
    with pytest.raises(error, match=words):
        onnxiou.IoU(num_classes=3, target_class_ids=target_class_ids)


def test_binary_iou_rejects_class_two():
    with pytest.raises(ValueError, match=r"\[0, 2\), but got 2"):
        onnxiou.BinaryIoU(target_class_ids=[2])


def test_binary_iou_rejects_nan_threshold():
    with pytest.raises(ValueError, match="`threshold` to be finite"):
        onnxiou.BinaryIoU(threshold=float("nan"))


def _metric_with_state():
    m = onnxiou.MeanIoU(num_classes=3, ignore_class=2)
    m.update_state([0, 1, 2, 9], [0, 2, 1, 1], sample_weight=[0.5, 1.5, 1, 1])
    return m


def _assert_unchanged(m, before):
    after = m.total_cm
    assert after.tobytes() == before.tobytes()
    assert m.dropped_weight == 1.0
    assert m.ignored_weight == 1.0


@pytest.mark.parametrize(
    ("y_true", "y_pred", "sample_weight", "error", "words"),
    [
        ([0, 1], [[0.1, 0.9], [0.8, 0.2]], None, ValueError, "sparse_y_pred=False"),
        ([0, 1, 2], [0, 1], None, ValueError, r"label shapes are \(3,\) and \(2,\)"),
        (["a", "b"], [0, 1], None, TypeError, "`y_true` to hold numbers"),
        ([0, 1], np.array([object(), 1]), None, TypeError, "`y_pred` to hold numbers"),
        ([0, 1], [0, 1], [1.0, 2.0, 3.0], ValueError, r"got shape \(3,\)"),
        ([0, 1], [0, 1], [1.0, np.nan], ValueError, "finite"),
        ([0, 1], [0, 1], ["x", "y"], TypeError, "`sample_weight` to hold numbers"),
        ([0, 1], [0, 1], np.ones((2, 2)), ValueError, "`sample_weight`"),
    ],
)
def test_bad_update_leaves_state_bit_identical(
    y_true, y_pred, sample_weight, error, words
):
    m = _metric_with_state()
    before = m.total_cm
    with pytest.raises(error, match=words):
        m.update_state(y_true, y_pred, sample_weight=sample_weight)
    _assert_unchanged(m, before)
    m.update_state([0], [0])
    assert m.total_cm[0, 0] == before[0, 0] + 1


def test_fractional_weights_rejected_with_int64_state():
    m = onnxiou.MeanIoU(num_classes=2, state_dtype="int64")
    m.update_state([0], [0])
    with pytest.raises(ValueError, match="whole numbers with state_dtype='int64'"):
        m.update_state([0, 1], [0, 1], sample_weight=[1.0, 0.5])
    np.testing.assert_array_equal(m.total_cm, [[1, 0], [0, 0]])


def test_dense_input_without_class_axis():
    m = onnxiou.MeanIoU(num_classes=2, sparse_y_pred=False, axis=2)
    with pytest.raises(ValueError, match=r"axis 2 holding the classes.*shape \(4, 2\)"):
        m.update_state([[0, 1]] * 4, np.zeros((4, 2)))


def test_concurrent_updates_lose_no_counts():
    m = onnxiou.MeanIoU(num_classes=4)
    labels = np.arange(1000) % 4
    threads = [
        threading.Thread(
            target=lambda: [m.update_state(labels, labels) for _ in range(20)]
        )
        for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_array_equal(np.diag(m.total_cm), [6 * 20 * 250] * 4)
