package dev.onnxiou.client;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.Arrays;

/**
 * An immutable tensor in Java memory: a primitive array in C order, its shape and its
 * element type. Labels, scores, weights and the confusion matrix all travel as one.
 */
public final class HostTensor {
    private final ElementType type;
    private final long[] shape;
    private final Object data;

    private HostTensor(ElementType type, Object data, int length, long[] shape) {
        this.type = type;
        this.shape = checkShape(shape, length);
        this.data = data;
    }

    /** Wraps a copy of int64 values. */
    public static HostTensor of(long[] data, long... shape) {
        return new HostTensor(ElementType.INT64, data.clone(), data.length, shape);
    }

    /** Wraps a copy of int32 values. */
    public static HostTensor of(int[] data, long... shape) {
        return new HostTensor(ElementType.INT32, data.clone(), data.length, shape);
    }

    /** Wraps a copy of uint8 values: each byte is read unsigned, 0 to 255. */
    public static HostTensor ofUint8(byte[] data, long... shape) {
        return new HostTensor(ElementType.UINT8, data.clone(), data.length, shape);
    }

    /** Wraps a copy of float32 values. */
    public static HostTensor of(float[] data, long... shape) {
        return new HostTensor(ElementType.FLOAT32, data.clone(), data.length, shape);
    }

    /** Wraps a copy of float64 values. */
    public static HostTensor of(double[] data, long... shape) {
        return new HostTensor(ElementType.FLOAT64, data.clone(), data.length, shape);
    }

    /** Returns a tensor of zeros of {@code type} and {@code shape}. */
    static HostTensor zeros(ElementType type, long... shape) {
        long product = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        int count = Math.toIntExact(product);
        return switch (type) {
            case INT64 -> of(new long[count], shape);
            case INT32 -> of(new int[count], shape);
            case UINT8 -> ofUint8(new byte[count], shape);
            case FLOAT32 -> of(new float[count], shape);
            case FLOAT64 -> of(new double[count], shape);
        };
    }

    private static long[] checkShape(long[] shape, int length) {
        long count = 1;
        for (long dim : shape) {
            if (dim < 0) {
                throw new IllegalArgumentException(
                        "Expected argument `shape` to hold no negative dimension, "
                                + "but got " + Arrays.toString(shape) + ".");
            }
            count = Math.multiplyExact(count, dim);
        }
        if (count != length) {
            throw new IllegalArgumentException(
                    "Expected argument `data` to hold " + count + " values for shape "
                            + Arrays.toString(shape) + ", but it contains " + length
                            + ".");
        }
        return shape.clone();
    }

    public ElementType type() {
        return type;
    }

    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    /** Number of elements: the product of the shape. */
    public int size() {
        return java.lang.reflect.Array.getLength(data);
    }

    /** Returns element {@code index} (C order) as a double; uint8 reads unsigned. */
    public double doubleAt(int index) {
        return switch (type) {
            case INT64 -> ((long[]) data)[index];
            case INT32 -> ((int[]) data)[index];
            case UINT8 -> Byte.toUnsignedInt(((byte[]) data)[index]);
            case FLOAT32 -> ((float[]) data)[index];
            case FLOAT64 -> ((double[]) data)[index];
        };
    }

    /**
     * Returns integer element {@code index} (C order) exactly.
     *
     * @throws IllegalStateException for a floating-point tensor
     */
    public long longAt(int index) {
        return switch (type) {
            case INT64 -> ((long[]) data)[index];
            case INT32 -> ((int[]) data)[index];
            case UINT8 -> Byte.toUnsignedInt(((byte[]) data)[index]);
            case FLOAT32, FLOAT64 -> throw new IllegalStateException(
                    "longAt reads integer tensors, but this one is "
                            + type.numpyName() + ".");
        };
    }

    /** Returns every element as a double, in C order; int64 beyond 2^53 rounds. */
    public double[] toDoubleArray() {
        double[] values = new double[size()];
        for (int index = 0; index < values.length; index++) {
            values[index] = doubleAt(index);
        }
        return values;
    }

    OnnxTensor toOnnxTensor(OrtEnvironment env) throws OrtException {
        return switch (type) {
            case INT64 -> OnnxTensor.createTensor(
                    env, LongBuffer.wrap((long[]) data), shape);
            case INT32 -> OnnxTensor.createTensor(
                    env, IntBuffer.wrap((int[]) data), shape);
            case UINT8 -> OnnxTensor.createTensor(
                    env, ByteBuffer.wrap((byte[]) data), shape, OnnxJavaType.UINT8);
            case FLOAT32 -> OnnxTensor.createTensor(
                    env, FloatBuffer.wrap((float[]) data), shape);
            case FLOAT64 -> OnnxTensor.createTensor(
                    env, DoubleBuffer.wrap((double[]) data), shape);
        };
    }

    /** Copies a tensor that onnxruntime returned into Java memory. */
    static HostTensor fromOnnxTensor(OnnxTensor tensor) {
        long[] shape = tensor.getInfo().getShape();
        ElementType type = ElementType.fromOnnx(tensor.getInfo().onnxType);
        return switch (type) {
            case INT64 -> of(copy(tensor.getLongBuffer()), shape);
            case INT32 -> of(copy(tensor.getIntBuffer()), shape);
            case UINT8 -> ofUint8(copy(tensor.getByteBuffer()), shape);
            case FLOAT32 -> of(copy(tensor.getFloatBuffer()), shape);
            case FLOAT64 -> of(copy(tensor.getDoubleBuffer()), shape);
        };
    }

    private static long[] copy(LongBuffer buffer) {
        long[] values = new long[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    private static int[] copy(IntBuffer buffer) {
        int[] values = new int[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    private static byte[] copy(ByteBuffer buffer) {
        byte[] values = new byte[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    private static float[] copy(FloatBuffer buffer) {
        float[] values = new float[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    private static double[] copy(DoubleBuffer buffer) {
        double[] values = new double[buffer.remaining()];
        buffer.get(values);
        return values;
    }

    @Override
    public String toString() {
        String shapeText = Arrays.toString(shape);
        return "HostTensor(" + type.numpyName() + ", shape " + shapeText + ")";
    }
}
