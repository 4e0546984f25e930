package dev.onnxiou.client;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The {@code onnxiou.*} metadata that onnxiou writes into every exported model.
 *
 * @param version the onnxiou version that wrote the model
 * @param graph {@code update}, {@code result} or {@code step}
 * @param metric the metric class name, e.g. {@code MeanIoU}
 * @param configJson the metric's {@code get_config()} as a JSON object
 * @param stateType element type of the confusion matrix
 * @param numClasses number of classes C; the state is {@code [C, C]}
 * @param kernel the accumulate kernel, {@code scatter} or {@code onehot_matmul}
 */
public record MetricMetadata(
        String version,
        String graph,
        String metric,
        String configJson,
        ElementType stateType,
        int numClasses,
        String kernel) {

    private static final Pattern STATE_SHAPE =
            Pattern.compile("\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*]");

    /**
     * Reads the metadata from a model's custom metadata map.
     *
     * @throws IllegalArgumentException if a key is missing or a value is malformed,
     *     which means the model was not exported by onnxiou
     */
    public static MetricMetadata parse(Map<String, String> custom) {
        int numClasses = Integer.parseInt(require(custom, "onnxiou.num_classes"));
        String stateShape = require(custom, "onnxiou.state_shape");
        Matcher matcher = STATE_SHAPE.matcher(stateShape);
        boolean square = matcher.matches()
                && Integer.parseInt(matcher.group(1)) == numClasses
                && Integer.parseInt(matcher.group(2)) == numClasses;
        if (!square) {
            throw new IllegalArgumentException(
                    "Expected metadata onnxiou.state_shape to be [" + numClasses + ", "
                            + numClasses + "], but got " + stateShape + ".");
        }
        return new MetricMetadata(
                require(custom, "onnxiou.version"),
                require(custom, "onnxiou.graph"),
                require(custom, "onnxiou.metric"),
                require(custom, "onnxiou.config"),
                ElementType.fromNumpyName(require(custom, "onnxiou.state_dtype")),
                numClasses,
                require(custom, "onnxiou.kernel"));
    }

    private static String require(Map<String, String> custom, String key) {
        String value = custom.get(key);
        if (value == null) {
            throw new IllegalArgumentException(
                    "Expected a model exported by onnxiou, with metadata key " + key
                            + ", but the model has none.");
        }
        return value;
    }

    /** Returns the state shape {@code [C, C]}. */
    public long[] stateShape() {
        return new long[] {numClasses, numClasses};
    }
}
