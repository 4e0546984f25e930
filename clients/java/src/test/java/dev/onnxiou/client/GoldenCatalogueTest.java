package dev.onnxiou.client;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Replays every case of the golden catalogue through {@code step.onnx} and through
 * {@code update.onnx} + {@code result.onnx}. The expected numbers come from the numpy
 * reference that wrote the catalogue: counts must match exactly (to 1e-9 relative with
 * fractional weights) and scores within 1e-6.
 */
class GoldenCatalogueTest {
    private static final double SCORE_TOLERANCE = 1e-6;
    private static final double FRACTIONAL_COUNT_TOLERANCE = 1e-9;

    @TestFactory
    List<DynamicTest> catalogueReplays() throws IOException {
        List<String> ids = GoldenCase.caseIds();
        assertFalse(ids.isEmpty(), "index.json lists no case");
        List<DynamicTest> tests = new ArrayList<>();
        for (String id : ids) {
            tests.add(DynamicTest.dynamicTest(
                    id + " step", () -> replayStep(GoldenCase.load(id))));
            tests.add(DynamicTest.dynamicTest(
                    id + " update+result",
                    () -> replayUpdateResult(GoldenCase.load(id))));
        }
        return tests;
    }

    private static void replayStep(GoldenCase golden) throws Exception {
        Path step = golden.folder.resolve("step.onnx");
        try (IouMetric metric = IouMetric.fromStep(step)) {
            replay(golden, metric);
        }
    }

    private static void replayUpdateResult(GoldenCase golden) throws Exception {
        Path update = golden.folder.resolve("update.onnx");
        Path result = golden.folder.resolve("result.onnx");
        try (IouMetric metric = IouMetric.fromUpdateAndResult(update, result)) {
            replay(golden, metric);
        }
    }

    private static void replay(GoldenCase golden, IouMetric metric) throws Exception {
        assertEquals(golden.metric, metric.metadata().metric(), "metric name");
        assertEquals(golden.numClasses, metric.metadata().numClasses(), "num_classes");
        String stateType = metric.metadata().stateType().numpyName();
        assertEquals(golden.stateType, stateType, "state dtype");
        for (GoldenCase.Batch batch : golden.batches) {
            metric.update(batch.yTrue(), batch.yPred(), batch.weight());
        }
        assertCounts(golden, metric);
        assertScores(golden, metric);
    }

    private static void assertCounts(GoldenCase golden, IouMetric metric) {
        HostTensor cm = metric.totalCm();
        HostTensor expected = golden.expectedCm;
        String where = golden.id + ": ";
        assertEquals(expected.type(), cm.type(), where + "total_cm dtype");
        assertEquals(List.of(boxed(expected.shape())), List.of(boxed(cm.shape())),
                where + "total_cm shape");
        for (int index = 0; index < expected.size(); index++) {
            String cell = where + "total_cm[" + index + "]";
            if (expected.type() == ElementType.INT64) {
                assertEquals(expected.longAt(index), cm.longAt(index), cell);
            } else {
                assertCount(golden, expected.doubleAt(index), cm.doubleAt(index), cell);
            }
        }
        assertCount(golden, golden.expectedDropped, metric.droppedWeight(),
                where + "dropped");
        assertCount(golden, golden.expectedIgnored, metric.ignoredWeight(),
                where + "ignored");
    }

    private static void assertCount(
            GoldenCase golden, double expected, double actual, String what) {
        if (golden.fractionalWeights) {
            double allowed = FRACTIONAL_COUNT_TOLERANCE * Math.abs(expected);
            assertEquals(expected, actual, allowed, what);
        } else {
            assertEquals(expected, actual, 0.0, what);
        }
    }

    private static void assertScores(GoldenCase golden, IouMetric metric)
            throws Exception {
        String where = golden.id + ": ";
        assertEquals(golden.expectedResult, metric.result(), SCORE_TOLERANCE,
                where + "result");
        float[] perClass = metric.perClassIou();
        assertEquals(golden.expectedPerClassIou.length, perClass.length,
                where + "classes");
        for (int index = 0; index < perClass.length; index++) {
            String what = where + "per_class_iou[" + index + "]";
            double expected = golden.expectedPerClassIou[index];
            if (Double.isNaN(expected)) {
                assertTrue(Float.isNaN(perClass[index]), what + " should be NaN");
            } else {
                assertEquals(expected, perClass[index], SCORE_TOLERANCE, what);
            }
        }
    }

    private static Long[] boxed(long[] values) {
        Long[] boxed = new Long[values.length];
        for (int index = 0; index < values.length; index++) {
            boxed[index] = values[index];
        }
        return boxed;
    }
}
