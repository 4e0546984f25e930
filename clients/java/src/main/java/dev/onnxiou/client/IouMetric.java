package dev.onnxiou.client;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A stateful IoU metric over the graphs that onnxiou exports.
 *
 * <p>It keeps the confusion matrix {@code total_cm} in Java memory and feeds it to each
 * call, as docs/graph-contract.md describes. Built from {@code step.onnx}, one run per
 * batch both updates the matrix and scores it. Built from {@code update.onnx} and
 * {@code result.onnx}, updates run the first and {@link #result()} the second. The
 * number of classes, the state's element type and the configuration come from the
 * models' metadata. Methods are synchronized, so one instance may be shared by threads.
 */
public final class IouMetric implements AutoCloseable {
    /** Dimension name of the class axis of dense inputs, fixed by the contract. */
    private static final String CLASS_AXIS = "classes";

    private final OrtEnvironment env;
    private final OrtSession updateSession;
    private final OrtSession resultSession;
    private final MetricMetadata metadata;
    private final TensorInfo yTrueInfo;
    private final TensorInfo yPredInfo;

    private HostTensor state;
    private float result;
    private float[] perClassIou;
    private double droppedWeight;
    private double ignoredWeight;

    private IouMetric(
            OrtEnvironment env, OrtSession updateSession, OrtSession resultSession)
            throws OrtException {
        this.env = env;
        this.updateSession = updateSession;
        this.resultSession = resultSession;
        this.metadata = readMetadata(updateSession);
        Map<String, NodeInfo> inputs = updateSession.getInputInfo();
        this.yTrueInfo = (TensorInfo) inputs.get("y_true").getInfo();
        this.yPredInfo = (TensorInfo) inputs.get("y_pred").getInfo();
        resetState();
    }

    /**
     * Opens a metric over an exported {@code step.onnx}.
     *
     * @throws IllegalArgumentException if the file is not an onnxiou step graph
     */
    public static IouMetric fromStep(Path step) throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession session = env.createSession(step.toString());
        try {
            checkGraph(session, "step", step);
            return new IouMetric(env, session, null);
        } catch (RuntimeException | OrtException error) {
            session.close();
            throw error;
        }
    }

    /**
     * Opens a metric over an exported {@code update.onnx} and {@code result.onnx}.
     *
     * @throws IllegalArgumentException if the files are not an onnxiou update and
     *     result graph of the same configuration
     */
    public static IouMetric fromUpdateAndResult(Path update, Path result)
            throws OrtException {
        OrtEnvironment env = OrtEnvironment.getEnvironment();
        OrtSession updateSession = env.createSession(update.toString());
        OrtSession resultSession = null;
        try {
            resultSession = env.createSession(result.toString());
            checkGraph(updateSession, "update", update);
            checkGraph(resultSession, "result", result);
            checkSameConfig(updateSession, resultSession, result);
            return new IouMetric(env, updateSession, resultSession);
        } catch (RuntimeException | OrtException error) {
            updateSession.close();
            if (resultSession != null) {
                resultSession.close();
            }
            throw error;
        }
    }

    private static MetricMetadata readMetadata(OrtSession session) throws OrtException {
        return MetricMetadata.parse(session.getMetadata().getCustomMetadata());
    }

    private static void checkGraph(OrtSession session, String kind, Path path)
            throws OrtException {
        MetricMetadata found = readMetadata(session);
        if (!found.graph().equals(kind)) {
            throw new IllegalArgumentException(
                    "Expected " + path + " to be an onnxiou " + kind + " graph, but "
                            + "its metadata onnxiou.graph is \"" + found.graph()
                            + "\".");
        }
    }

    private static void checkSameConfig(
            OrtSession update, OrtSession result, Path resultPath) throws OrtException {
        MetricMetadata first = readMetadata(update);
        MetricMetadata second = readMetadata(result);
        boolean same = first.metric().equals(second.metric())
                && first.configJson().equals(second.configJson())
                && first.stateType() == second.stateType()
                && first.numClasses() == second.numClasses();
        if (!same) {
            throw new IllegalArgumentException(
                    "Expected " + resultPath + " to score the update graph's "
                            + "configuration " + first.configJson()
                            + ", but it was exported for "
                            + second.configJson() + ".");
        }
    }

    /** Returns the models' {@code onnxiou.*} metadata. */
    public MetricMetadata metadata() {
        return metadata;
    }

    /** Returns the metric's {@code get_config()} as a JSON object. */
    public String configJson() {
        return metadata.configJson();
    }

    /**
     * Adds a batch with one weight for every pair.
     *
     * @see #update(HostTensor, HostTensor, double[])
     */
    public void update(HostTensor yTrue, HostTensor yPred) throws OrtException {
        update(yTrue, yPred, new double[] {1.0});
    }

    /**
     * Adds a batch to the confusion matrix.
     *
     * @param yTrue labels in the element type and rank the graph was exported for
     * @param yPred predictions in the element type and rank the graph was exported for
     * @param weight 1-D weights: length 1 weighs every pair, length B (the first
     *     dimension of the decoded labels) whole samples, length N (all pairs, C
     *     order) each pair. They are converted to the state's element type.
     * @throws IllegalArgumentException if an argument does not fit the graph, and then
     *     the state is unchanged
     */
    public synchronized void update(HostTensor yTrue, HostTensor yPred, double[] weight)
            throws OrtException {
        update(yTrue, yPred, weightTensor(weight));
    }

    /**
     * Adds a batch whose 1-D weight is already in the state's element type.
     *
     * @see #update(HostTensor, HostTensor, double[])
     */
    public synchronized void update(
            HostTensor yTrue, HostTensor yPred, HostTensor weight) throws OrtException {
        checkInput("yTrue", yTrue, yTrueInfo);
        checkInput("yPred", yPred, yPredInfo);
        checkWeight(weight, decodedShape(yPred));
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            inputs.put("y_true", yTrue.toOnnxTensor(env));
            inputs.put("y_pred", yPred.toOnnxTensor(env));
            inputs.put("sample_weight", weight.toOnnxTensor(env));
            inputs.put("total_cm", state.toOnnxTensor(env));
            try (OrtSession.Result outputs = updateSession.run(inputs)) {
                HostTensor next = tensorOutput(outputs, "total_cm_out");
                double dropped = tensorOutput(outputs, "dropped_weight").doubleAt(0);
                double ignored = tensorOutput(outputs, "ignored_weight").doubleAt(0);
                if (resultSession == null) {
                    readScores(outputs);
                }
                state = next;
                droppedWeight += dropped;
                ignoredWeight += ignored;
            }
        } finally {
            for (OnnxTensor tensor : inputs.values()) {
                tensor.close();
            }
        }
    }

    /** Returns the mean IoU over the target classes present so far (0.0 if none is). */
    public synchronized float result() throws OrtException {
        scoreState();
        return result;
    }

    /** Returns TP / (TP + FP + FN) per class, NaN where that denominator is 0. */
    public synchronized float[] perClassIou() throws OrtException {
        scoreState();
        return perClassIou.clone();
    }

    /** Returns the confusion matrix {@code [C, C]}: rows true, columns predicted. */
    public synchronized HostTensor totalCm() {
        return state;
    }

    /**
     * Returns the summed weight of the pairs dropped because a label was outside
     * [0, C) or not finite.
     */
    public synchronized double droppedWeight() {
        return droppedWeight;
    }

    /** Returns the summed weight of the pairs whose true label is ignored. */
    public synchronized double ignoredWeight() {
        return ignoredWeight;
    }

    /** Forgets every batch: zero matrix, zero dropped and ignored weight. */
    public synchronized void reset() {
        resetState();
    }

    private void resetState() {
        state = HostTensor.zeros(metadata.stateType(), metadata.stateShape());
        // The contract's scores of the zero matrix, which the step graph only
        // returns after a batch: result 0.0 and NaN for every class.
        result = 0.0f;
        perClassIou = new float[metadata.numClasses()];
        Arrays.fill(perClassIou, Float.NaN);
        droppedWeight = 0.0;
        ignoredWeight = 0.0;
    }

    private void scoreState() throws OrtException {
        if (resultSession == null) {
            return;
        }
        try (OnnxTensor matrix = state.toOnnxTensor(env);
                OrtSession.Result outputs =
                        resultSession.run(Map.of("total_cm", matrix))) {
            readScores(outputs);
        }
    }

    private void readScores(OrtSession.Result outputs) {
        result = (float) tensorOutput(outputs, "result").doubleAt(0);
        double[] scores = tensorOutput(outputs, "per_class_iou").toDoubleArray();
        float[] perClass = new float[scores.length];
        for (int index = 0; index < scores.length; index++) {
            perClass[index] = (float) scores[index];
        }
        perClassIou = perClass;
    }

    private static HostTensor tensorOutput(OrtSession.Result outputs, String name) {
        OnnxValue value = outputs.get(name).orElseThrow(() -> new IllegalStateException(
                "Expected the graph to return output " + name + ", but it did not."));
        return HostTensor.fromOnnxTensor((OnnxTensor) value);
    }

    private HostTensor weightTensor(double[] weight) {
        ElementType type = metadata.stateType();
        boolean wholeOnly = type == ElementType.INT64;
        for (double value : weight) {
            boolean whole = value == Math.rint(value);
            if (!Double.isFinite(value) || (wholeOnly && !whole)) {
                String rule = wholeOnly ? ", whole for an int64 state" : "";
                throw new IllegalArgumentException(
                        "Expected argument `weight` to hold finite numbers" + rule
                                + ", but got " + value + ".");
            }
        }
        long[] shape = {weight.length};
        return switch (type) {
            case FLOAT64 -> HostTensor.of(weight, shape);
            case FLOAT32 -> {
                float[] values = new float[weight.length];
                for (int index = 0; index < weight.length; index++) {
                    values[index] = (float) weight[index];
                }
                yield HostTensor.of(values, shape);
            }
            case INT64 -> {
                long[] values = new long[weight.length];
                for (int index = 0; index < weight.length; index++) {
                    values[index] = (long) weight[index];
                }
                yield HostTensor.of(values, shape);
            }
            default -> throw new IllegalStateException(
                    "Unsupported state type " + type + ".");
        };
    }

    private static void checkInput(
            String name, HostTensor tensor, TensorInfo declared) {
        ElementType expected = ElementType.fromOnnx(declared.onnxType);
        int rank = declared.getShape().length;
        if (tensor.type() != expected || tensor.rank() != rank) {
            throw new IllegalArgumentException(
                    "Expected argument `" + name + "` to be " + expected.numpyName()
                            + " of rank " + rank + ", as the graph was exported, but "
                            + "got " + tensor.type().numpyName() + " of shape "
                            + Arrays.toString(tensor.shape()) + ".");
        }
    }

    /** Shape of the predicted labels: y_pred without its class axis, if it has one. */
    private long[] decodedShape(HostTensor yPred) {
        List<String> dimensionNames = Arrays.asList(yPredInfo.getDimensionNames());
        int classAxis = dimensionNames.indexOf(CLASS_AXIS);
        long[] shape = yPred.shape();
        if (classAxis < 0) {
            return shape;
        }
        long[] decoded = new long[shape.length - 1];
        for (int from = 0, to = 0; from < shape.length; from++) {
            if (from != classAxis) {
                decoded[to++] = shape[from];
            }
        }
        return decoded;
    }

    private void checkWeight(HostTensor weight, long[] labelShape) {
        long pairs = Arrays.stream(labelShape).reduce(1, Math::multiplyExact);
        long samples = labelShape.length > 0 ? labelShape[0] : 1;
        long length = weight.size();
        boolean knownLength = length == 1 || length == samples || length == pairs;
        boolean divides = length > 0 && pairs % length == 0;
        boolean fits = weight.rank() == 1 && knownLength && divides;
        if (weight.type() != metadata.stateType() || !fits) {
            String stateType = metadata.stateType().numpyName();
            throw new IllegalArgumentException(
                    "Expected argument `weight` to be 1-D " + stateType
                            + " of length 1, " + samples + " (per sample) or " + pairs
                            + " (per pair) for labels of shape "
                            + Arrays.toString(labelShape) + ", but got " + weight
                            + ".");
        }
    }

    /** Closes the onnxruntime sessions; the metric cannot be used afterwards. */
    @Override
    public synchronized void close() throws OrtException {
        updateSession.close();
        if (resultSession != null) {
            resultSession.close();
        }
    }
}
