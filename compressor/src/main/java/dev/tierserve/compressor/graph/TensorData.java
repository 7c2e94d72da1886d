package dev.tierserve.compressor.graph;

import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import org.ejml.data.FMatrixRMaj;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Conversions between ONNX {@link TensorProto}s and Java arrays / EJML matrices.
 * ONNX stores raw tensor bytes little-endian and row-major; a MatMul weight has the layout [in, out].
 */
public final class TensorData {

    private TensorData() {
    }

    public static long[] dims(TensorProto tensor) {
        return tensor.getDimsList().stream().mapToLong(Long::longValue).toArray();
    }

    /** The element count the dims declare; a negative dim or an overflowing product is a malformed model. */
    public static long elementCount(TensorProto tensor) {
        long count = 1;
        for (long dim : tensor.getDimsList()) {
            if (dim < 0) {
                throw new OnnxFormatException("tensor '" + tensor.getName() + "' has a negative dim " + dim);
            }
            try {
                count = Math.multiplyExact(count, dim);
            } catch (ArithmeticException e) {
                throw new OnnxFormatException("tensor '" + tensor.getName() + "' declares dims " + tensor.getDimsList()
                        + " whose element count overflows");
            }
        }
        return count;
    }

    /**
     * The elements of {@code width} bytes in the tensor's raw data, which must be what its dims declare: checked
     * before anything is allocated, since a model file is input from strangers and its dims cost nothing to write.
     */
    private static int rawCount(TensorProto tensor, int width) {
        long declared = elementCount(tensor);
        int bytes = tensor.getRawData().size();
        if (bytes % width != 0 || declared != bytes / width) {
            throw new OnnxFormatException("tensor '" + tensor.getName() + "' declares dims " + tensor.getDimsList()
                    + " (" + declared + " elements) but holds " + bytes + " bytes of data");
        }
        return bytes / width;
    }

    public static float[] floats(TensorProto tensor) {
        requireInline(tensor);
        if (tensor.getDataType() != TensorProto.DataType.FLOAT_VALUE) {
            throw new UnsupportedOperationException("tensor '" + tensor.getName() + "' has ONNX data type "
                    + tensor.getDataType() + "; only FLOAT weights can be edited");
        }
        if (!tensor.getRawData().isEmpty()) {
            float[] values = new float[rawCount(tensor, Float.BYTES)];
            tensor.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(values);
            return values;
        }
        float[] values = new float[tensor.getFloatDataCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = tensor.getFloatData(i);
        }
        return values;
    }

    public static long[] longs(TensorProto tensor) {
        requireInline(tensor);
        if (tensor.getDataType() == TensorProto.DataType.INT64_VALUE) {
            if (!tensor.getRawData().isEmpty()) {
                long[] values = new long[rawCount(tensor, Long.BYTES)];
                tensor.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asLongBuffer().get(values);
                return values;
            }
            return tensor.getInt64DataList().stream().mapToLong(Long::longValue).toArray();
        }
        if (tensor.getDataType() == TensorProto.DataType.INT32_VALUE) {
            if (!tensor.getRawData().isEmpty()) {
                int[] values = new int[rawCount(tensor, Integer.BYTES)];
                tensor.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asIntBuffer().get(values);
                return Arrays.stream(values).asLongStream().toArray();
            }
            return tensor.getInt32DataList().stream().mapToLong(Integer::longValue).toArray();
        }
        throw new UnsupportedOperationException("tensor '" + tensor.getName() + "' is not an integer tensor");
    }

    public static TensorProto floatTensor(String name, long[] dims, float[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addAllDims(Arrays.stream(dims).boxed().toList())
                .setRawData(ByteString.copyFrom(bytes.array())).build();
    }

    public static TensorProto longTensor(String name, long[] dims, long[] values) {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asLongBuffer().put(values);
        return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE)
                .addAllDims(Arrays.stream(dims).boxed().toList())
                .setRawData(ByteString.copyFrom(bytes.array())).build();
    }

    /** A 2-D float tensor as a row-major matrix (rows = first dimension). */
    public static FMatrixRMaj matrix(TensorProto tensor) {
        if (tensor.getDimsCount() != 2) {
            throw new IllegalArgumentException("tensor '" + tensor.getName() + "' has rank " + tensor.getDimsCount()
                    + ", expected a 2-D weight");
        }
        return FMatrixRMaj.wrap((int) tensor.getDims(0), (int) tensor.getDims(1), floats(tensor));
    }

    public static TensorProto fromMatrix(String name, FMatrixRMaj matrix) {
        float[] data = matrix.data.length == matrix.getNumElements()
                ? matrix.data : Arrays.copyOf(matrix.data, matrix.getNumElements());
        return floatTensor(name, new long[] {matrix.numRows, matrix.numCols}, data);
    }

    public static TensorProto fromVector(String name, float[] values) {
        return floatTensor(name, new long[] {values.length}, values);
    }

    private static void requireInline(TensorProto tensor) {
        if (tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
            throw new IllegalStateException("tensor '" + tensor.getName()
                    + "' still points at external data; read models with OnnxModelReader");
        }
    }
}
