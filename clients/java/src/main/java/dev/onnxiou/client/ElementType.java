package dev.onnxiou.client;

import ai.onnxruntime.TensorInfo.OnnxTensorType;

/** Element types of the inputs and state of onnxiou's graphs, by their numpy names. */
public enum ElementType {
    INT64("int64", OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64),
    INT32("int32", OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32),
    UINT8("uint8", OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8),
    FLOAT32("float32", OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT),
    FLOAT64("float64", OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE);

    private final String numpyName;
    private final OnnxTensorType onnxType;

    ElementType(String numpyName, OnnxTensorType onnxType) {
        this.numpyName = numpyName;
        this.onnxType = onnxType;
    }

    /** Returns the numpy name, as in the {@code onnxiou.state_dtype} metadata. */
    public String numpyName() {
        return numpyName;
    }

    OnnxTensorType onnxType() {
        return onnxType;
    }

    /**
     * Returns the type with numpy name {@code name}.
     *
     * @throws IllegalArgumentException if no supported type has that name
     */
    public static ElementType fromNumpyName(String name) {
        for (ElementType type : values()) {
            if (type.numpyName.equals(name)) {
                return type;
            }
        }
        throw new IllegalArgumentException(
                "Expected an element type of int64, int32, uint8, float32 or float64, "
                        + "but got \"" + name + "\".");
    }

    /**
     * Returns the type of an ONNX tensor element type.
     *
     * @throws IllegalArgumentException for a type onnxiou's graphs do not use here
     */
    static ElementType fromOnnx(OnnxTensorType onnxType) {
        for (ElementType type : values()) {
            if (type.onnxType == onnxType) {
                return type;
            }
        }
        throw new IllegalArgumentException(
                "Unsupported ONNX element type " + onnxType + ".");
    }
}
