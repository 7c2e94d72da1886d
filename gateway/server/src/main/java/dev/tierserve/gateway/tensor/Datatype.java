package dev.tierserve.gateway.tensor;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo.OnnxTensorType;
import dev.tierserve.proto.inference.DataType;
import io.grpc.Status;
import java.util.Arrays;

/** The protocol's tensor datatypes, with their element size and ONNX Runtime and model-config counterparts. */
public enum Datatype {
    BOOL(1, OnnxJavaType.BOOL, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, DataType.TYPE_BOOL),
    UINT8(1, OnnxJavaType.UINT8, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, DataType.TYPE_UINT8),
    UINT16(2, null, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16, DataType.TYPE_UINT16),
    UINT32(4, null, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32, DataType.TYPE_UINT32),
    UINT64(8, null, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64, DataType.TYPE_UINT64),
    INT8(1, OnnxJavaType.INT8, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8, DataType.TYPE_INT8),
    INT16(2, OnnxJavaType.INT16, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16, DataType.TYPE_INT16),
    INT32(4, OnnxJavaType.INT32, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, DataType.TYPE_INT32),
    INT64(8, OnnxJavaType.INT64, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, DataType.TYPE_INT64),
    FP16(2, OnnxJavaType.FLOAT16, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, DataType.TYPE_FP16),
    BF16(2, OnnxJavaType.BFLOAT16, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16, DataType.TYPE_BF16),
    FP32(4, OnnxJavaType.FLOAT, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, DataType.TYPE_FP32),
    FP64(8, OnnxJavaType.DOUBLE, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, DataType.TYPE_FP64),
    /** Variable-length byte strings; on the raw wire each element is prefixed by its 4-byte little-endian length. */
    BYTES(0, OnnxJavaType.STRING, OnnxTensorType.ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING, DataType.TYPE_STRING);

    private final int elementBytes;
    private final OnnxJavaType onnxJavaType;
    private final OnnxTensorType onnxTensorType;
    private final DataType configType;

    Datatype(int elementBytes, OnnxJavaType onnxJavaType, OnnxTensorType onnxTensorType, DataType configType) {
        this.elementBytes = elementBytes;
        this.onnxJavaType = onnxJavaType;
        this.onnxTensorType = onnxTensorType;
        this.configType = configType;
    }

    /** Bytes per element on the raw wire; 0 for BYTES, whose elements vary. */
    public int elementBytes() {
        return elementBytes;
    }

    /** ONNX Runtime's Java type, or null where its Java API cannot create such tensors. */
    public OnnxJavaType onnxJavaType() {
        return onnxJavaType;
    }

    public DataType configType() {
        return configType;
    }

    /** The datatype named in a request, or INVALID_ARGUMENT naming the input. */
    public static Datatype parse(String name, String tensorName) {
        try {
            return Datatype.valueOf(name);
        } catch (IllegalArgumentException e) {
            throw Status.INVALID_ARGUMENT
                    .withDescription("input '" + tensorName + "': unknown datatype '" + name + "'; one of "
                            + Arrays.toString(values()))
                    .asRuntimeException();
        }
    }

    public static Datatype of(OnnxTensorType type) {
        for (Datatype datatype : values()) {
            if (datatype.onnxTensorType == type) {
                return datatype;
            }
        }
        throw new IllegalArgumentException("ONNX element type " + type + " has no protocol datatype");
    }
}
