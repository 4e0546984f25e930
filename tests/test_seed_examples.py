"""Every example of the Keras IoU API page, with its documented value.

Where the page prints a rounded number (0.071, 0.048), the expected value
is the page's own arithmetic, written out.
"""

import numpy as np
import pytest

import onnxiou

ONE_HOT_TRUE = np.array([[0, 0, 1], [1, 0, 0], [0, 1, 0], [1, 0, 0]])
ONE_HOT_PRED = np.array(
    [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7], [0.5, 0.3, 0.1], [0.1, 0.4, 0.5]]
)
ONE_HOT_WEIGHT = [0.1, 0.2, 0.3, 0.4]


def test_iou_unweighted():
    m = onnxiou.IoU(num_classes=2, target_class_ids=[0])
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    # cm = [[1, 1], [1, 1]]; iou_0 = 1 / (2 + 2 - 1)
    assert m.result() == pytest.approx(0.33333334, abs=1e-6)


def test_iou_weighted_after_reset():
    m = onnxiou.IoU(num_classes=2, target_class_ids=[0])
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    m.reset_state()
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])
    # cm = [[0.3, 0.3], [0.3, 0.1]]; iou_0 = 0.3 / (0.6 + 0.6 - 0.3)
    assert m.result() == pytest.approx(0.33333334, abs=1e-6)


def test_binary_iou_unweighted():
    m = onnxiou.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7])
    # cm = [[1, 1], [1, 1]]; (1/3 + 1/3) / 2
    assert m.result() == pytest.approx(0.33333334, abs=1e-6)


def test_binary_iou_weighted():
    m = onnxiou.BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
    m.update_state(
        [0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7], sample_weight=[0.2, 0.3, 0.4, 0.1]
    )
    # cm = [[0.2, 0.4], [0.3, 0.1]]
    # iou = [0.2 / (0.6 + 0.5 - 0.2), 0.1 / (0.4 + 0.5 - 0.1)]
    expected = (0.2 / 0.9 + 0.1 / 0.8) / 2
    assert m.result() == pytest.approx(0.17361112, abs=1e-6)
    assert m.result() == pytest.approx(expected, abs=1e-6)


def test_one_hot_iou_weighted():
    m = onnxiou.OneHotIoU(num_classes=3, target_class_ids=[0, 2])
    m.update_state(ONE_HOT_TRUE, ONE_HOT_PRED, sample_weight=ONE_HOT_WEIGHT)
    # cm = [[0, 0, 0.6], [0.3, 0, 0], [0, 0, 0.1]]
    expected = (0 / (0.3 + 0.6 - 0) + 0.1 / (0.7 + 0.1 - 0.1)) / 2
    assert m.result() == pytest.approx(expected, abs=1e-6)
    assert round(float(m.result()), 3) == 0.071


def test_one_hot_mean_iou_weighted():
    m = onnxiou.OneHotMeanIoU(num_classes=3)
    m.update_state(ONE_HOT_TRUE, ONE_HOT_PRED, sample_weight=ONE_HOT_WEIGHT)
    expected = (0 + 0 + 0.1 / (0.7 + 0.1 - 0.1)) / 3
    assert m.result() == pytest.approx(expected, abs=1e-6)
    assert round(float(m.result()), 3) == 0.048


def test_mean_iou_unweighted():
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    # (1 / (2 + 2 - 1) + 1 / (2 + 2 - 1)) / 2
    assert m.result() == pytest.approx(0.33333334, abs=1e-6)


def test_mean_iou_weighted_is_not_truncated():
    # Keras's default int32 accumulator truncates these weights to 0 and
    # returns 0.0; the documented value is what the float state gives.
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1], sample_weight=[0.3, 0.3, 0.3, 0.1])
    expected = (0.3 / (0.6 + 0.6 - 0.3) + 0.1 / (0.4 + 0.4 - 0.1)) / 2
    assert m.result() == pytest.approx(0.23809525, abs=1e-6)
    assert m.result() == pytest.approx(expected, abs=1e-6)


def test_result_is_float32_scalar():
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state([0, 0, 1, 1], [0, 1, 0, 1])
    result = m.result()
    assert result.dtype == np.float32
    assert np.ndim(result) == 0
