"""The pinned semantics of the metrics, each with its value as arithmetic."""

import warnings

import numpy as np
import pytest

import onnxiou


def test_absent_class_left_out_of_mean():
    m = onnxiou.MeanIoU(num_classes=3)
    m.update_state([0, 0, 1], [0, 1, 1])
    # cm = [[1, 1, 0], [0, 1, 0], [0, 0, 0]]; class 2 has TP + FP + FN = 0
    assert m.result() == pytest.approx((1 / 2 + 1 / 2) / 2, abs=1e-7)
    per_class = m.per_class_iou()
    assert per_class[:2] == pytest.approx([0.5, 0.5])
    assert np.isnan(per_class[2])


def test_no_valid_class_gives_zero():
    m = onnxiou.IoU(num_classes=3, target_class_ids=[2])
    m.update_state([0, 1], [0, 1])
    assert m.result() == 0.0


def test_empty_metric_gives_zero():
    assert onnxiou.MeanIoU(num_classes=4).result() == 0.0


def test_perfect_score_is_exactly_one():
    m = onnxiou.MeanIoU(num_classes=7)
    labels = np.arange(7 * 1001) % 7
    m.update_state(labels, labels, sample_weight=np.full(labels.shape, 0.1))
    assert m.result() == np.float32(1.0)


def test_scalar_weight_scales_matrix():
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state([0, 1, 1], [0, 1, 0], sample_weight=2.5)
    np.testing.assert_array_equal(m.total_cm, [[2.5, 0.0], [2.5, 2.5]])


def test_column_weight_broadcasts_over_rows():
    m = onnxiou.MeanIoU(num_classes=2)
    y_true = np.array([[0, 1, 1], [1, 1, 0]])
    y_pred = np.array([[0, 1, 0], [1, 0, 0]])
    m.update_state(y_true, y_pred, sample_weight=np.array([[1.0], [3.0]]))
    # row 0 weight 1: (0,0) (1,1) (1,0); row 1 weight 3: (1,1) (1,0) (0,0)
    np.testing.assert_array_equal(m.total_cm, [[1 + 3, 0], [1 + 3, 1 + 3]])


def test_per_sample_weight_vector():
    m = onnxiou.MeanIoU(num_classes=2)
    y_true = np.array([[0, 1], [1, 1], [0, 0]])
    y_pred = np.array([[0, 0], [1, 1], [0, 1]])
    m.update_state(y_true, y_pred, sample_weight=[1.0, 0.0, 2.0])
    # sample 0: (0,0) (1,0); sample 1 weight 0; sample 2: 2 x (0,0), 2 x (0,1)
    np.testing.assert_array_equal(m.total_cm, [[1 + 2, 2], [1, 0]])


def test_trailing_weight_dims_broadcast_like_numpy():
    m = onnxiou.MeanIoU(num_classes=2)
    y_true = np.zeros((2, 3), dtype=np.int64)
    m.update_state(y_true, y_true, sample_weight=np.array([1.0, 2.0, 3.0]))
    # (3,) broadcasts along the last axis: 2 x (1 + 2 + 3)
    assert m.total_cm[0, 0] == 12.0


def test_negative_labels_never_wrap():
    m = onnxiou.MeanIoU(num_classes=3)
    m.update_state([-1, 0, 2, -3], [2, -1, 2, 0])
    np.testing.assert_array_equal(m.total_cm, [[0, 0, 0], [0, 0, 0], [0, 0, 1]])
    assert m.dropped_weight == 3.0


def test_label_255_is_dropped_not_an_error():
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state(np.array([0, 255, 1], np.uint8), np.array([0, 1, 255], np.uint8))
    np.testing.assert_array_equal(m.total_cm, [[1, 0], [0, 0]])
    assert m.dropped_weight == 2.0


def test_ignore_class_masks_y_true_only():
    m = onnxiou.MeanIoU(num_classes=3, ignore_class=1)
    m.update_state([1, 1, 0, 2], [1, 0, 1, 2])
    # pairs with y_true 1 are ignored; (0 -> 1) still counts against class 1
    np.testing.assert_array_equal(m.total_cm, [[0, 1, 0], [0, 0, 0], [0, 0, 1]])
    assert m.ignored_weight == 2.0
    # iou: class 0 = 0 / 1, class 1 = 0 / 1, class 2 = 1 / 1
    assert m.result() == pytest.approx((0 + 0 + 1) / 3, abs=1e-7)


def test_ignore_class_255_counted_as_ignored():
    m = onnxiou.MeanIoU(num_classes=2, ignore_class=255)
    m.update_state([255, 0, 7], [0, 0, 1])
    np.testing.assert_array_equal(m.total_cm, [[1, 0], [0, 0]])
    assert m.ignored_weight == 1.0
    assert m.dropped_weight == 1.0


def test_several_ignore_classes():
    m = onnxiou.MeanIoU(num_classes=3, ignore_class=[0, 255, 70000])
    m.update_state([0, 255, 70000, 1, 2], [1, 1, 1, 1, 1])
    np.testing.assert_array_equal(m.total_cm, [[0, 0, 0], [0, 1, 0], [0, 1, 0]])
    assert m.ignored_weight == 3.0


def test_float_labels_truncate_toward_zero():
    m = onnxiou.MeanIoU(num_classes=3)
    with pytest.warns(UserWarning, match="y_true contains fractional values"):
        m.update_state(np.array([0.9, 1.5, 2.99, -0.5]), np.array([0, 1, 2, 0]))
    # 0.9 -> 0, 1.5 -> 1, 2.99 -> 2, -0.5 -> 0
    np.testing.assert_array_equal(np.diag(m.total_cm), [2, 1, 1])


def test_nan_and_inf_labels_are_dropped():
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state(np.array([np.nan, np.inf, -np.inf, 1.0]), np.array([0, 0, 0, 1]))
    np.testing.assert_array_equal(m.total_cm, [[0, 0], [0, 1]])
    assert m.dropped_weight == 3.0


def test_fractional_sparse_pred_warns_once():
    m = onnxiou.MeanIoU(num_classes=2)
    with pytest.warns(UserWarning, match="sparse_y_pred=False"):
        m.update_state([0, 1], [0.2, 0.9])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m.update_state([0, 1], [0.2, 0.9])


def test_argmax_ties_pick_first_index():
    m = onnxiou.MeanIoU(num_classes=3, sparse_y_pred=False)
    m.update_state([1, 0], [[0.1, 0.5, 0.5], [0.3, 0.3, 0.3]])
    np.testing.assert_array_equal(m.total_cm, [[1, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_argmax_nan_wins_like_numpy():
    scores = np.array(
        [[1.0, np.nan, 3.0], [np.inf, 2.0, np.nan], [np.nan, np.nan, 1.0]],
        dtype=np.float32,
    )
    m = onnxiou.MeanIoU(num_classes=3, sparse_y_pred=False)
    m.update_state([1, 2, 0], scores)
    # numpy.argmax picks the first NaN: 1, 2, 0
    np.testing.assert_array_equal(np.argmax(scores, axis=-1), [1, 2, 0])
    np.testing.assert_array_equal(np.diag(m.total_cm), [1, 1, 1])


def test_binary_threshold_is_inclusive_and_nan_is_zero():
    m = onnxiou.BinaryIoU(target_class_ids=[1], threshold=0.5)
    m.update_state([1, 0, 1, 0], [0.5, 0.4999, np.nan, 0.7])
    # predictions: 1, 0, 0 (NaN), 1
    np.testing.assert_array_equal(m.total_cm, [[1, 1], [1, 1]])


def test_binary_threshold_compares_in_float32():
    m = onnxiou.BinaryIoU(threshold=0.1)
    # float64 0.1 - 1e-12 rounds to float32(0.1), so it is at the threshold
    m.update_state([1], np.array([0.1 - 1e-12], dtype=np.float64))
    assert m.total_cm[1, 1] == 1.0


def test_channels_first_logits():
    logits = np.zeros((2, 3, 2, 2), dtype=np.float32)  # N, C, H, W
    logits[:, 2] = 1.0
    labels = np.full((2, 2, 2), 2)
    m = onnxiou.MeanIoU(num_classes=3, sparse_y_pred=False, axis=1)
    m.update_state(labels, logits)
    assert m.total_cm[2, 2] == 8.0
    assert m.result() == 1.0


def test_labels_with_trailing_unit_axis_and_logits():
    labels = np.array([[[0], [1]], [[2], [1]]])  # B, H, W, 1
    logits = np.eye(3, dtype=np.float32)[[[0, 1], [2, 2]]]  # B, H, W, C
    m = onnxiou.MeanIoU(num_classes=3, sparse_y_pred=False)
    m.update_state(labels, logits)
    np.testing.assert_array_equal(m.total_cm, [[1, 0, 0], [0, 1, 1], [0, 0, 1]])


def test_empty_batch_is_noop():
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state([0, 1], [0, 0])
    before = m.total_cm.copy()
    m.update_state(np.zeros((0,), np.int64), np.zeros((0,), np.int64))
    m.update_state(np.zeros((3, 0)), np.zeros((3, 0)), sample_weight=[1, 2, 3])
    np.testing.assert_array_equal(m.total_cm, before)
    dense = onnxiou.MeanIoU(num_classes=2, sparse_y_pred=False)
    dense.update_state(np.zeros((3, 0)), np.zeros((3, 0, 2)), sample_weight=[1, 2, 3])
    assert not dense.total_cm.any()


def test_accumulates_stream_not_batch_average():
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state([0, 0, 0, 0], [0, 0, 0, 0])  # batch score 1.0 alone
    m.update_state([1, 1], [0, 0])  # batch score 0.0 alone
    # cm = [[4, 0], [2, 0]]: iou_0 = 4 / 6, iou_1 = 0 / 2
    assert m.result() == pytest.approx((4 / 6 + 0) / 2, abs=1e-7)


def test_int64_state_exact_counts():
    m = onnxiou.MeanIoU(num_classes=2, state_dtype="int64")
    m.update_state([0, 1, 1], [0, 1, 0], sample_weight=[3, 1, 2])
    assert m.total_cm.dtype == np.int64
    np.testing.assert_array_equal(m.total_cm, [[3, 0], [2, 1]])


def test_float32_state():
    m = onnxiou.MeanIoU(num_classes=2, state_dtype="float32")
    m.update_state([0, 1], [0, 1], sample_weight=[0.5, 0.25])
    assert m.total_cm.dtype == np.float32
    np.testing.assert_array_equal(m.total_cm, [[0.5, 0], [0, 0.25]])


def test_float64_state_beyond_float32_precision():
    m = onnxiou.MeanIoU(num_classes=2)
    big = np.zeros(2**24 + 1, dtype=np.uint8)
    m.update_state(big, big)
    m.update_state([0], [0])
    # float32 stops counting at 2**24; float64 is exact to 2**53
    assert m.total_cm[0, 0] == 2**24 + 2


def test_result_dtype_argument():
    m = onnxiou.MeanIoU(num_classes=2, dtype="float64")
    m.update_state([0, 1], [0, 1])
    assert m.result().dtype == np.float64
    assert m.result() == 1.0


def test_reset_clears_counts():
    m = onnxiou.MeanIoU(num_classes=2, ignore_class=1)
    m.update_state([0, 1, 5], [0, 0, 0])
    m.reset_state()
    assert not m.total_cm.any()
    assert m.dropped_weight == 0.0
    assert m.ignored_weight == 0.0
    m.update_state([1, 0], [0, 0])
    np.testing.assert_array_equal(m.total_cm, [[1, 0], [0, 0]])


def test_get_config_round_trip():
    m = onnxiou.IoU(
        num_classes=4,
        target_class_ids=[1, 3],
        name="road",
        ignore_class=[255, 0],
        sparse_y_pred=False,
        axis=1,
        state_dtype="int64",
        kernel="onehot_matmul",
    )
    config = m.get_config()
    assert config == {
        "name": "road",
        "dtype": "float32",
        "num_classes": 4,
        "target_class_ids": [1, 3],
        "ignore_class": [0, 255],
        "sparse_y_true": True,
        "sparse_y_pred": False,
        "axis": 1,
        "state_dtype": "int64",
        "kernel": "onehot_matmul",
    }
    assert onnxiou.IoU.from_config(config).get_config() == config


@pytest.mark.parametrize(
    ("cls", "kwargs", "name"),
    [
        (onnxiou.IoU, {"num_classes": 2, "target_class_ids": [0]}, "io_u"),
        (onnxiou.BinaryIoU, {}, "binary_io_u"),
        (onnxiou.OneHotIoU, {"num_classes": 2, "target_class_ids": [0]}, "one_hot_io_u"),
        (onnxiou.OneHotMeanIoU, {"num_classes": 2}, "one_hot_mean_io_u"),
        (onnxiou.MeanIoU, {"num_classes": 2}, "mean_io_u"),
    ],
)
def test_default_names_match_keras(cls, kwargs, name):
    assert cls(**kwargs).name == name


def test_total_cm_is_a_copy():
    m = onnxiou.MeanIoU(num_classes=2)
    m.update_state([0], [0])
    first = m.total_cm
    first[0, 1] = 5
    m.update_state([1], [1])
    m.update_state([1], [1])
    np.testing.assert_array_equal(first, [[1, 5], [0, 0]])
    np.testing.assert_array_equal(m.total_cm, [[1, 0], [0, 2]])


def test_call_updates_and_returns_result():
    m = onnxiou.MeanIoU(num_classes=2)
    assert m([0, 1], [0, 0]) == pytest.approx((1 / 2 + 0) / 2, abs=1e-7)
    assert m.total_cm.sum() == 2


def test_keras_attributes():
    m = onnxiou.IoU(num_classes=3, target_class_ids=(2, 0), ignore_class=255, axis=1)
    assert m.num_classes == 3
    assert m.target_class_ids == [2, 0]
    assert m.ignore_class == 255
    assert m.axis == 1
    assert m.sparse_y_true


def test_pickle_and_deepcopy_keep_state():
    import copy
    import pickle

    m = onnxiou.MeanIoU(num_classes=3, ignore_class=2)
    m.update_state([0, 1, 2, 7], [0, 1, 1, 1], sample_weight=[1, 2, 3, 4])
    for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
        np.testing.assert_array_equal(clone.total_cm, m.total_cm)
        assert clone.dropped_weight == 4.0
        assert clone.ignored_weight == 3.0
        assert clone.get_config() == m.get_config()
        clone.update_state([0], [0])
        assert m.total_cm[0, 0] == 1.0


def test_from_config_accepts_keras_config():
    keras_config = {
        "name": "mean_io_u",
        "dtype": "int32",
        "num_classes": 3,
        "ignore_class": None,
        "sparse_y_true": True,
        "sparse_y_pred": True,
        "axis": -1,
    }
    m = onnxiou.MeanIoU.from_config(keras_config)
    assert m.get_config()["dtype"] == "float32"
    assert m.get_config()["num_classes"] == 3


def test_float32_state_warns_past_exact_range():
    m = onnxiou.MeanIoU(num_classes=2, state_dtype="float32")
    with pytest.warns(UserWarning, match="2\\*\\*24"):
        m.update_state([0], [0], sample_weight=2.0**25)


def test_interrupted_chunked_update_is_undone(monkeypatch):
    m = onnxiou.MeanIoU(num_classes=3, kernel="onehot_matmul")
    m.update_state([0], [0])
    calls = []
    real_update = m._runner.update

    def failing_update(*args):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_update(*args)

    monkeypatch.setattr(m._runner, "update", failing_update)
    monkeypatch.setattr("onnxiou._chunking.max_pairs", lambda *args: 4096)
    labels = np.zeros(3 * 4096, dtype=np.int64)
    with pytest.raises(KeyboardInterrupt):
        m.update_state(labels, labels)
    assert len(calls) == 2
    np.testing.assert_array_equal(m.total_cm, [[1, 0, 0], [0, 0, 0], [0, 0, 0]])


def test_weight_shaped_like_labels_with_unit_axis():
    labels = np.array([[[0], [1]], [[1], [1]]])  # B, H, W, 1
    logits = np.eye(2, dtype=np.float32)[[[0, 1], [0, 1]]]  # B, H, W, C
    weight = np.array([[[1.0], [2.0]], [[3.0], [4.0]]])  # as labels, like Keras
    m = onnxiou.MeanIoU(num_classes=2, sparse_y_pred=False)
    m.update_state(labels, logits, sample_weight=weight)
    np.testing.assert_array_equal(m.total_cm, [[1, 0], [3, 2 + 4]])


def test_integer_scores_keep_their_order():
    m = onnxiou.OneHotMeanIoU(num_classes=2)
    m.update_state([[0, 1]], np.array([[2**24, 2**24 + 1]], dtype=np.int64))
    np.testing.assert_array_equal(m.total_cm, [[0, 0], [0, 1]])


def test_nan_label_is_dropped_not_ignored():
    m = onnxiou.MeanIoU(num_classes=3, ignore_class=-1)
    m.update_state(np.array([np.nan, -1.0, 1.0]), np.array([0, 0, 1]))
    assert m.dropped_weight == 1.0
    assert m.ignored_weight == 1.0


def test_chunked_dense_labels_with_class_axis_first():
    classes = 4
    rng = np.random.default_rng(3)
    labels = rng.integers(0, classes, size=(classes, 3000))
    one_hot = np.moveaxis(np.eye(classes)[labels], -1, 0)  # C, B, W with C == B
    pred = rng.integers(0, classes, size=(classes, 3000))
    m = onnxiou.IoU(
        num_classes=classes,
        target_class_ids=range(classes),
        sparse_y_true=False,
        axis=-3,
        kernel="onehot_matmul",
    )
    import onnxiou._chunking as chunking

    original = chunking.max_pairs
    chunking.max_pairs = lambda *args: 4096
    try:
        m.update_state(one_hot, pred)
    finally:
        chunking.max_pairs = original
    expected = np.bincount(labels.ravel() * classes + pred.ravel(), minlength=16)
    np.testing.assert_array_equal(m.total_cm.ravel(), expected)
