package dev.tierserve.gateway.tensor;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtException;
import com.google.protobuf.ByteString;
import com.google.protobuf.UnsafeByteOperations;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ModelInferResponse.InferOutputTensor;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.DoubleBuffer;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.nio.ShortBuffer;
import java.util.Arrays;
import java.util.List;

/** Writes output tensors into a response: raw little-endian bytes when the request was raw, typed contents otherwise. */
public final class OutputEncoder {

    private OutputEncoder() {
    }

    public static void append(ModelInferResponse.Builder response, String name, OnnxTensor tensor, boolean raw)
            throws OrtException {
        Datatype datatype = Datatype.of(tensor.getInfo().onnxType);
        long[] shape = tensor.getInfo().getShape();
        if (datatype == Datatype.BYTES) {
            InferOutputTensor.Builder output = InferOutputTensor.newBuilder().setName(name)
                    .setDatatype(datatype.name());
            Arrays.stream(shape).forEach(output::addShape);
            appendStrings(response, output, flatStrings(tensor), raw);
            return;
        }
        appendBytes(response, name, datatype, shape, tensor.getByteBuffer().order(ByteOrder.nativeOrder()), raw);
    }

    /**
     * Splits a fixed-size output computed for a batch of requests along its first dimension: appends to each response
     * its rows ({@code rows[i]} of them, in order). IllegalStateException when the output's first dimension is not the
     * batch's rows, so that the requests can run again alone.
     */
    public static void appendRows(List<ModelInferResponse.Builder> responses, int[] rows, String name,
                                  OnnxTensor tensor, boolean[] raw) throws OrtException {
        Datatype datatype = Datatype.of(tensor.getInfo().onnxType);
        long[] shape = tensor.getInfo().getShape();
        long total = Arrays.stream(rows).sum();
        if (datatype == Datatype.BYTES || shape.length == 0 || shape[0] != total) {
            throw new IllegalStateException("output '" + name + "' " + datatype + Arrays.toString(shape)
                    + " cannot be split into the batch's " + total + " rows");
        }
        ByteBuffer all = tensor.getByteBuffer().order(ByteOrder.nativeOrder());
        int rowBytes = all.remaining() / (int) total;
        int offset = 0;
        for (int i = 0; i < responses.size(); i++) {
            long[] own = shape.clone();
            own[0] = rows[i];
            ByteBuffer slice = all.slice(offset, rows[i] * rowBytes).order(ByteOrder.nativeOrder());
            appendBytes(responses.get(i), name, datatype, own, slice, raw[i]);
            offset += rows[i] * rowBytes;
        }
    }

    private static void appendBytes(ModelInferResponse.Builder response, String name, Datatype datatype, long[] shape,
                                    ByteBuffer nativeBytes, boolean raw) {
        InferOutputTensor.Builder output = InferOutputTensor.newBuilder().setName(name).setDatatype(datatype.name());
        Arrays.stream(shape).forEach(output::addShape);
        if (raw) {
            response.addOutputs(output).addRawOutputContents(littleEndian(nativeBytes, datatype.elementBytes()));
        } else {
            output.setContents(typed(nativeBytes, datatype));
            response.addOutputs(output);
        }
    }

    /** Appends a float tensor computed by the gateway itself (e.g. pooled embeddings). */
    public static void appendFloats(ModelInferResponse.Builder response, String name, float[] values, long[] shape,
                                    boolean raw) {
        InferOutputTensor.Builder output = InferOutputTensor.newBuilder().setName(name)
                .setDatatype(Datatype.FP32.name());
        Arrays.stream(shape).forEach(output::addShape);
        if (raw) {
            ByteBuffer bytes = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            bytes.asFloatBuffer().put(values);
            response.addOutputs(output).addRawOutputContents(UnsafeByteOperations.unsafeWrap(bytes.array()));
        } else {
            InferTensorContents.Builder contents = InferTensorContents.newBuilder();
            for (float value : values) {
                contents.addFp32Contents(value);
            }
            response.addOutputs(output.setContents(contents));
        }
    }

    private static ByteString littleEndian(ByteBuffer nativeBytes, int elementBytes) {
        if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN || elementBytes == 1) {
            return UnsafeByteOperations.unsafeWrap(nativeBytes);
        }
        ByteBuffer out = ByteBuffer.allocate(nativeBytes.remaining()).order(ByteOrder.LITTLE_ENDIAN);
        switch (elementBytes) {
            case 2 -> out.asShortBuffer().put(nativeBytes.asShortBuffer());
            case 4 -> out.asIntBuffer().put(nativeBytes.asIntBuffer());
            case 8 -> out.asLongBuffer().put(nativeBytes.asLongBuffer());
            default -> throw new IllegalStateException("element size " + elementBytes);
        }
        return UnsafeByteOperations.unsafeWrap(out.array());
    }

    private static InferTensorContents typed(ByteBuffer bytes, Datatype datatype) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        switch (datatype) {
            case BOOL -> {
                while (bytes.hasRemaining()) {
                    contents.addBoolContents(bytes.get() != 0);
                }
            }
            case INT8 -> {
                while (bytes.hasRemaining()) {
                    contents.addIntContents(bytes.get());
                }
            }
            case UINT8 -> {
                while (bytes.hasRemaining()) {
                    contents.addUintContents(Byte.toUnsignedInt(bytes.get()));
                }
            }
            case INT16, UINT16 -> {
                ShortBuffer values = bytes.asShortBuffer();
                while (values.hasRemaining()) {
                    short value = values.get();
                    if (datatype == Datatype.INT16) {
                        contents.addIntContents(value);
                    } else {
                        contents.addUintContents(Short.toUnsignedInt(value));
                    }
                }
            }
            case INT32, UINT32 -> {
                IntBuffer values = bytes.asIntBuffer();
                while (values.hasRemaining()) {
                    if (datatype == Datatype.INT32) {
                        contents.addIntContents(values.get());
                    } else {
                        contents.addUintContents(values.get());
                    }
                }
            }
            case INT64, UINT64 -> {
                LongBuffer values = bytes.asLongBuffer();
                while (values.hasRemaining()) {
                    if (datatype == Datatype.INT64) {
                        contents.addInt64Contents(values.get());
                    } else {
                        contents.addUint64Contents(values.get());
                    }
                }
            }
            case FP32 -> {
                FloatBuffer values = bytes.asFloatBuffer();
                while (values.hasRemaining()) {
                    contents.addFp32Contents(values.get());
                }
            }
            case FP64 -> {
                DoubleBuffer values = bytes.asDoubleBuffer();
                while (values.hasRemaining()) {
                    contents.addFp64Contents(values.get());
                }
            }
            // No typed field exists for half precision: such outputs travel as raw contents only.
            case FP16, BF16 -> throw io.grpc.Status.INVALID_ARGUMENT
                    .withDescription(datatype + " outputs have no typed contents field; send the request with "
                            + "raw_input_contents to receive raw_output_contents")
                    .asRuntimeException();
            case BYTES -> throw new IllegalStateException("BYTES are encoded separately");
        }
        return contents.build();
    }

    private static String[] flatStrings(OnnxTensor tensor) throws OrtException {
        return Arrays.stream(flatten(tensor.getValue())).toArray(String[]::new);
    }

    private static Object[] flatten(Object value) {
        if (value instanceof String string) {
            return new Object[] {string};
        }
        return Arrays.stream((Object[]) value).flatMap(element -> Arrays.stream(flatten(element))).toArray();
    }

    private static void appendStrings(ModelInferResponse.Builder response, InferOutputTensor.Builder output,
                                      String[] strings, boolean raw) {
        if (raw) {
            ByteString.Output bytes = ByteString.newOutput();
            for (String string : strings) {
                byte[] utf8 = string.getBytes(java.nio.charset.StandardCharsets.UTF_8);
                ByteBuffer length = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(utf8.length);
                bytes.write(length.array(), 0, 4);
                bytes.write(utf8, 0, utf8.length);
            }
            response.addOutputs(output).addRawOutputContents(bytes.toByteString());
        } else {
            InferTensorContents.Builder contents = InferTensorContents.newBuilder();
            for (String string : strings) {
                contents.addBytesContents(ByteString.copyFromUtf8(string));
            }
            response.addOutputs(output.setContents(contents));
        }
    }
}
