package dev.onnxiou.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** One case of the golden catalogue (tests/golden/), read from its case.json. */
final class GoldenCase {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    /** One batch: labels, predictions and the 1-D weight in the state type. */
    record Batch(HostTensor yTrue, HostTensor yPred, HostTensor weight) {}

    final String id;
    final Path folder;
    final String metric;
    final String stateType;
    final int numClasses;
    final List<Batch> batches = new ArrayList<>();
    final HostTensor expectedCm;
    final double expectedResult;
    final double[] expectedPerClassIou;
    final double expectedDropped;
    final double expectedIgnored;
    final boolean fractionalWeights;

    private GoldenCase(Path folder, JsonNode root) {
        this.id = root.get("id").asText();
        this.folder = folder;
        this.metric = root.get("metric").asText();
        this.stateType = root.get("state_dtype").asText();
        this.numClasses = root.get("num_classes").asInt();
        boolean fractional = false;
        for (JsonNode batch : root.get("batches")) {
            HostTensor weight = tensor(batch.get("sample_weight"));
            HostTensor yTrue = tensor(batch.get("y_true"));
            HostTensor yPred = tensor(batch.get("y_pred"));
            batches.add(new Batch(yTrue, yPred, weight));
            for (double value : weight.toDoubleArray()) {
                fractional |= value != Math.rint(value);
            }
        }
        this.fractionalWeights = fractional;
        JsonNode expected = root.get("expected");
        this.expectedCm = tensor(expected.get("total_cm"));
        this.expectedResult = expected.get("result").asDouble();
        JsonNode perClass = expected.get("per_class_iou");
        this.expectedPerClassIou = new double[perClass.size()];
        for (int index = 0; index < perClass.size(); index++) {
            JsonNode value = perClass.get(index);
            expectedPerClassIou[index] = value.isNull() ? Double.NaN : value.asDouble();
        }
        this.expectedDropped = expected.get("dropped_weight").asDouble();
        this.expectedIgnored = expected.get("ignored_weight").asDouble();
    }

    static Path catalogue() {
        String configured = System.getProperty("golden.dir", "../../tests/golden");
        return Path.of(configured).toAbsolutePath().normalize();
    }

    static List<String> caseIds() throws IOException {
        JsonNode index = MAPPER.readTree(catalogue().resolve("index.json").toFile());
        List<String> ids = new ArrayList<>();
        index.get("cases").forEach(id -> ids.add(id.asText()));
        return ids;
    }

    static GoldenCase load(String id) throws IOException {
        Path folder = catalogue().resolve(id);
        String text = Files.readString(folder.resolve("case.json"));
        return new GoldenCase(folder, MAPPER.readTree(text));
    }

    /**
     * Parses {"dtype", "shape", "data"}, where non-finite floats are the strings "NaN",
     * "Infinity" and "-Infinity".
     */
    static HostTensor tensor(JsonNode node) {
        JsonNode shapeNode = node.get("shape");
        long[] shape = new long[shapeNode.size()];
        for (int axis = 0; axis < shape.length; axis++) {
            shape[axis] = shapeNode.get(axis).asLong();
        }
        JsonNode data = node.get("data");
        int count = data.size();
        return switch (ElementType.fromNumpyName(node.get("dtype").asText())) {
            case INT64 -> {
                long[] values = new long[count];
                for (int i = 0; i < count; i++) {
                    values[i] = data.get(i).asLong();
                }
                yield HostTensor.of(values, shape);
            }
            case INT32 -> {
                int[] values = new int[count];
                for (int i = 0; i < count; i++) {
                    values[i] = data.get(i).asInt();
                }
                yield HostTensor.of(values, shape);
            }
            case UINT8 -> {
                byte[] values = new byte[count];
                for (int i = 0; i < count; i++) {
                    values[i] = (byte) data.get(i).asInt();
                }
                yield HostTensor.ofUint8(values, shape);
            }
            case FLOAT32 -> {
                float[] values = new float[count];
                for (int i = 0; i < count; i++) {
                    values[i] = (float) number(data.get(i));
                }
                yield HostTensor.of(values, shape);
            }
            case FLOAT64 -> {
                double[] values = new double[count];
                for (int i = 0; i < count; i++) {
                    values[i] = number(data.get(i));
                }
                yield HostTensor.of(values, shape);
            }
        };
    }

    private static double number(JsonNode value) {
        if (!value.isTextual()) {
            return value.asDouble();
        }
        return switch (value.asText()) {
            case "NaN" -> Double.NaN;
            case "Infinity" -> Double.POSITIVE_INFINITY;
            case "-Infinity" -> Double.NEGATIVE_INFINITY;
            default -> throw new IllegalArgumentException(
                    "Expected a number, \"NaN\", \"Infinity\" or \"-Infinity\", "
                            + "but got " + value + ".");
        };
    }
}
