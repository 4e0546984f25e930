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
        (["a", "b"], [0, 1], None, TypeError, "`y_true` to contain numbers"),
        ([0, 1], np.array([object(), 1]), None, TypeError, "`y_pred` to contain numbers"),
        ([0, 1], [0, 1], [1.0, 2.0, 3.0], ValueError, r"got shape \(3,\)"),
        ([0, 1], [0, 1], [1.0, np.nan], ValueError, "finite"),
        ([0, 1], [0, 1], ["x", "y"], TypeError, "`sample_weight` to contain numbers"),
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
    with pytest.raises(ValueError, match=r"axis 2 with the classes.*shape \(4, 2\)"):
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


@pytest.mark.parametrize(
    ("providers", "error", "words"),
    [
        ("CPUExecutionProvider", TypeError, "list of provider names"),
        (["NoSuchProvider"], ValueError, "'NoSuchProvider'"),
        ([("CPUExecutionProvider",)], ValueError, "a name and a dict"),
    ],
)
def test_provider_errors(providers, error, words):
    with pytest.raises(error, match=words):
        onnxiou.MeanIoU(num_classes=2, providers=providers)


def test_numpy_dtype_objects_accepted():
    m = onnxiou.MeanIoU(num_classes=2, dtype=np.float64)
    assert m.get_config()["dtype"] == "float64"


def test_class_axis_must_match_num_classes():
    m = onnxiou.MeanIoU(num_classes=3, sparse_y_pred=False)
    with pytest.raises(ValueError, match=r"num_classes=3 class scores, but got shape"):
        m.update_state([0, 1], np.zeros((2, 4)))
    with pytest.raises(ValueError, match="num_classes=3"):
        m.update_state(np.zeros((2, 0)), np.zeros((2, 0)))


@pytest.mark.parametrize(
    ("weight", "words"),
    [
        ([1.0, -0.5], "non-negative, but got -0.5"),
        ([1e300, 1.0], "at most"),
    ],
)
def test_weight_range_errors(weight, words):
    m = onnxiou.MeanIoU(num_classes=2, state_dtype="int64")
    with pytest.raises(ValueError, match=words):
        m.update_state([0, 1], [0, 1], sample_weight=weight)
    assert not m.total_cm.any()


def test_float32_weight_overflow_rejected():
    m = onnxiou.MeanIoU(num_classes=2, state_dtype="float32")
    with pytest.raises(ValueError, match="at most"):
        m.update_state([0], [0], sample_weight=1e39)


def test_big_endian_inputs_read_by_value():
    m = onnxiou.MeanIoU(num_classes=4)
    m.update_state(np.array([0, 1, 2, 3], ">i4"), np.array([0, 1, 2, 3], ">f8"))
    assert m.result() == 1.0
    assert m.dropped_weight == 0.0


def test_bool_labels_from_other_bytes_are_zero_or_one():
    labels = np.array([255, 0, 255, 0], np.uint8).view(bool)
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state(labels, [1, 0, 0, 0])
    np.testing.assert_array_equal(m.total_cm, [[2, 0], [1, 1]])


def test_huge_unsigned_labels_stay_out_of_range():
    m = onnxiou.MeanIoU(num_classes=3, ignore_class=-1)
    m.update_state(np.array([2**64 - 1, 1], np.uint64), np.array([0, 1], np.uint64))
    assert m.dropped_weight == 1.0
    assert m.ignored_weight == 0.0


def test_ignore_class_beyond_label_range():
    with pytest.raises(ValueError, match=r"\(-2\*\*62, 2\*\*62\), but got"):
        onnxiou.MeanIoU(num_classes=3, ignore_class=2**63)


def test_iterables_accepted_for_ids():
    m = onnxiou.IoU(
        num_classes=4, target_class_ids=(k for k in [1, 2]), ignore_class=np.array([0])
    )
    assert m.target_class_ids == [1, 2]
    assert m.ignore_class == 0


def test_huge_threshold_rejected():
    with pytest.raises(ValueError, match="`threshold` to be finite"):
        onnxiou.BinaryIoU(threshold=10**400)
