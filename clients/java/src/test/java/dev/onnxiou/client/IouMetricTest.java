package dev.onnxiou.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Hand-computed checks of {@link IouMetric} on catalogue models: scoring, reset and the
 * errors for arguments that do not fit the graph.
 */
class IouMetricTest {
    /** IoU of classes 0 and 2 of 4, int64 labels of rank 3, float64 state. */
    private static final Path IOU =
            GoldenCase.catalogue().resolve("iou_int64_with_empty_batch");
    /** MeanIoU of 6 classes with an int64 state. */
    private static final Path INT64_STATE =
            GoldenCase.catalogue().resolve("meaniou_ignore_near_inrange_far_int64");

    private static final HostTensor Y_TRUE =
            HostTensor.of(new long[] {0, 0, 1, 1}, 1, 1, 4);
    private static final HostTensor Y_PRED =
            HostTensor.of(new long[] {0, 1, 0, 1}, 1, 1, 4);

    @Test
    void stepScoresHandExample() throws Exception {
        try (IouMetric metric = IouMetric.fromStep(IOU.resolve("step.onnx"))) {
            metric.update(Y_TRUE, Y_PRED);
            // Class 0: TP 1, FP 1, FN 1. Class 2 never occurs, so it is not averaged.
            assertEquals(1.0f / 3.0f, metric.result(), 1e-7f);
            float[] perClass = metric.perClassIou();
            assertEquals(1.0f / 3.0f, perClass[0], 1e-7f);
            assertEquals(1.0f / 3.0f, perClass[1], 1e-7f);
            assertTrue(Float.isNaN(perClass[2]));
            assertArrayEquals(
                    new double[] {1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                    metric.totalCm().toDoubleArray());
        }
    }

    @Test
    void updateResultWeighsSamples() throws Exception {
        try (IouMetric metric = IouMetric.fromUpdateAndResult(
                IOU.resolve("update.onnx"), IOU.resolve("result.onnx"))) {
            HostTensor yTrue = HostTensor.of(new long[] {0, 0, 1, 1}, 2, 1, 2);
            HostTensor yPred = HostTensor.of(new long[] {0, 1, 0, 1}, 2, 1, 2);
            metric.update(yTrue, yPred, new double[] {0.5, 2.0});
            // Sample 0 contains pairs (0,0) and (0,1), sample 1 (1,0) and (1,1).
            assertArrayEquals(
                    new double[] {0.5, 0.5, 0, 0, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0},
                    metric.totalCm().toDoubleArray());
            // Class 0: 0.5 / (1 + 2.5 - 0.5).
            assertEquals(0.5f / 3.0f, metric.result(), 1e-7f);
        }
    }

    @Test
    void resetGivesZeroState() throws Exception {
        try (IouMetric metric = IouMetric.fromStep(IOU.resolve("step.onnx"))) {
            metric.update(Y_TRUE, HostTensor.of(new long[] {0, 1, 9, -1}, 1, 1, 4));
            assertEquals(2.0, metric.droppedWeight());
            metric.reset();
            assertEquals(0.0f, metric.result());
            assertEquals(0.0, metric.droppedWeight());
            assertArrayEquals(new double[16], metric.totalCm().toDoubleArray());
            for (float value : metric.perClassIou()) {
                assertTrue(Float.isNaN(value));
            }
        }
    }

    @Test
    void metadataComesFromModel() throws Exception {
        try (IouMetric metric = IouMetric.fromStep(INT64_STATE.resolve("step.onnx"))) {
            assertEquals("MeanIoU", metric.metadata().metric());
            assertEquals(6, metric.metadata().numClasses());
            assertEquals(ElementType.INT64, metric.metadata().stateType());
            assertEquals(ElementType.INT64, metric.totalCm().type());
            String ignored = "\"ignore_class\": [2, 255, 5000]";
            assertTrue(metric.configJson().contains(ignored));
        }
    }

    @Test
    void rejectsWrongLabelType() throws Exception {
        try (IouMetric metric = IouMetric.fromStep(IOU.resolve("step.onnx"))) {
            HostTensor int32 = HostTensor.of(new int[] {0, 0, 1, 1}, 1, 1, 4);
            IllegalArgumentException error = assertThrows(
                    IllegalArgumentException.class, () -> metric.update(int32, Y_PRED));
            assertTrue(error.getMessage().contains("`yTrue` to be int64 of rank 3"));
        }
    }

    @Test
    void rejectsWrongWeightLength() throws Exception {
        try (IouMetric metric = IouMetric.fromStep(IOU.resolve("step.onnx"))) {
            double[] weight = {1, 2, 3};
            IllegalArgumentException error = assertThrows(
                    IllegalArgumentException.class,
                    () -> metric.update(Y_TRUE, Y_PRED, weight));
            String lengths = "length 1, 1 (per sample) or 4 (per pair)";
            assertTrue(error.getMessage().contains(lengths));
            assertArrayEquals(new double[16], metric.totalCm().toDoubleArray());
        }
    }

    @Test
    void rejectsFractionalWeightForInt64State() throws Exception {
        try (IouMetric metric = IouMetric.fromStep(INT64_STATE.resolve("step.onnx"))) {
            assertThrows(IllegalArgumentException.class,
                    () -> metric.update(Y_TRUE, Y_PRED, new double[] {0.5}));
        }
    }

    @Test
    void rejectsStepGivenAsUpdate() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> IouMetric.fromUpdateAndResult(IOU.resolve("step.onnx"),
                        IOU.resolve("result.onnx")));
        assertTrue(error.getMessage().contains("onnxiou update graph"));
    }

    @Test
    void rejectsResultOfOtherConfig() {
        assertThrows(IllegalArgumentException.class,
                () -> IouMetric.fromUpdateAndResult(IOU.resolve("update.onnx"),
                        INT64_STATE.resolve("result.onnx")));
    }
}
