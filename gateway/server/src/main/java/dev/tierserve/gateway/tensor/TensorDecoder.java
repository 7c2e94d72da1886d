package dev.tierserve.gateway.tensor;

import com.google.protobuf.ByteString;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Turns a request's inputs into {@link DecodedTensor}s: typed {@code contents} or {@code raw_input_contents}
 * (little-endian, row-major), never a mix. Every failure is INVALID_ARGUMENT naming the input.
 */
public final class TensorDecoder {

    private TensorDecoder() {
    }

    public static List<DecodedTensor> decode(ModelInferRequest request) {
        boolean raw = request.getRawInputContentsCount() > 0;
        if (raw && request.getRawInputContentsCount() != request.getInputsCount()) {
            throw invalid("raw_input_contents has " + request.getRawInputContentsCount() + " entries for "
                    + request.getInputsCount() + " inputs; when raw contents are used every input needs one");
        }
        Set<String> names = new HashSet<>();
        List<DecodedTensor> decoded = new ArrayList<>(request.getInputsCount());
        for (int i = 0; i < request.getInputsCount(); i++) {
            InferInputTensor input = request.getInputs(i);
            if (!names.add(input.getName())) {
                throw invalid("input '" + input.getName() + "' appears more than once");
            }
            Datatype datatype = Datatype.parse(input.getDatatype(), input.getName());
            long[] shape = TensorShapes.toArray(input.getShapeList());
            long count = TensorShapes.elementCount(shape);
            if (count < 0 || count > Integer.MAX_VALUE) {
                throw invalid("input '" + input.getName() + "': invalid shape " + TensorShapes.format(shape));
            }
            if (raw) {
                if (input.hasContents()) {
                    throw invalid("input '" + input.getName() + "' has typed contents while the request uses "
                            + "raw_input_contents; use one or the other for all inputs");
                }
                decoded.add(fromRaw(input.getName(), datatype, shape, (int) count, request.getRawInputContents(i)));
            } else {
                decoded.add(fromContents(input.getName(), datatype, shape, (int) count, input.getContents()));
            }
        }
        return decoded;
    }

    private static DecodedTensor fromRaw(String name, Datatype datatype, long[] shape, int count, ByteString raw) {
        if (datatype == Datatype.BYTES) {
            return new DecodedTensor(name, datatype, shape, null, splitLengthPrefixed(name, count, raw));
        }
        long expected = (long) count * datatype.elementBytes();
        if (raw.size() != expected) {
            throw invalid("input '" + name + "': shape " + TensorShapes.format(shape) + " of " + datatype + " needs "
                    + expected + " bytes of raw contents, got " + raw.size());
        }
        ByteBuffer data = ByteBuffer.allocateDirect((int) expected).order(ByteOrder.nativeOrder());
        ByteBuffer source = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        // Typed views convert from the wire's little-endian order to the native order ONNX Runtime reads.
        switch (datatype.elementBytes()) {
            case 1 -> data.put(source);
            case 2 -> data.asShortBuffer().put(source.asShortBuffer());
            case 4 -> data.asIntBuffer().put(source.asIntBuffer());
            case 8 -> data.asLongBuffer().put(source.asLongBuffer());
            default -> throw new IllegalStateException("element size " + datatype.elementBytes());
        }
        data.rewind();
        return new DecodedTensor(name, datatype, shape, data, null);
    }

    private static byte[][] splitLengthPrefixed(String name, int count, ByteString raw) {
        ByteBuffer source = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        byte[][] elements = new byte[count][];
        for (int i = 0; i < count; i++) {
            if (source.remaining() < 4) {
                throw invalid("input '" + name + "': raw BYTES contents end after " + i + " of " + count + " elements");
            }
            int length = source.getInt();
            if (length < 0 || length > source.remaining()) {
                throw invalid("input '" + name + "': raw BYTES element " + i + " claims " + Integer.toUnsignedString(length)
                        + " bytes but " + source.remaining() + " remain");
            }
            elements[i] = new byte[length];
            source.get(elements[i]);
        }
        if (source.hasRemaining()) {
            throw invalid("input '" + name + "': " + source.remaining() + " bytes of raw BYTES contents left after "
                    + count + " elements");
        }
        return elements;
    }

    private static DecodedTensor fromContents(String name, Datatype datatype, long[] shape, int count,
                                              InferTensorContents contents) {
        // The field's length is checked before anything is allocated: the shape alone is the sender's claim, and a
        // claimed count with no contents behind it must not cost native memory.
        if (datatype == Datatype.FP16 || datatype == Datatype.BF16) {
            throw invalid("input '" + name + "': " + datatype + " has no typed contents field; send it in "
                    + "raw_input_contents");
        }
        requireCount(name, datatype, fieldName(datatype), fieldCount(datatype, contents), count);
        ByteBuffer data = datatype == Datatype.BYTES ? null
                : ByteBuffer.allocateDirect(count * datatype.elementBytes()).order(ByteOrder.nativeOrder());
        switch (datatype) {
            case BOOL -> {
                for (boolean value : contents.getBoolContentsList()) {
                    data.put((byte) (value ? 1 : 0));
                }
            }
            case INT8 -> contents.getIntContentsList().forEach(v -> data.put(v.byteValue()));
            case INT16 -> contents.getIntContentsList().forEach(v -> data.putShort(v.shortValue()));
            case INT32 -> contents.getIntContentsList().forEach(data::putInt);
            case INT64 -> contents.getInt64ContentsList().forEach(data::putLong);
            case UINT8 -> contents.getUintContentsList().forEach(v -> data.put(v.byteValue()));
            case UINT16 -> contents.getUintContentsList().forEach(v -> data.putShort(v.shortValue()));
            case UINT32 -> contents.getUintContentsList().forEach(data::putInt);
            case UINT64 -> contents.getUint64ContentsList().forEach(data::putLong);
            case FP32 -> contents.getFp32ContentsList().forEach(data::putFloat);
            case FP64 -> contents.getFp64ContentsList().forEach(data::putDouble);
            case BYTES -> {
                byte[][] strings = contents.getBytesContentsList().stream().map(ByteString::toByteArray)
                        .toArray(byte[][]::new);
                return new DecodedTensor(name, datatype, shape, null, strings);
            }
            case FP16, BF16 -> throw new IllegalArgumentException(datatype + " was refused above");
        }
        data.rewind();
        return new DecodedTensor(name, datatype, shape, data, null);
    }

    /** The typed contents field a datatype is sent in (FP16 and BF16 have none). */
    private static String fieldName(Datatype datatype) {
        return switch (datatype) {
            case BOOL -> "bool_contents";
            case INT8, INT16, INT32 -> "int_contents";
            case INT64 -> "int64_contents";
            case UINT8, UINT16, UINT32 -> "uint_contents";
            case UINT64 -> "uint64_contents";
            case FP32 -> "fp32_contents";
            case FP64 -> "fp64_contents";
            case BYTES -> "bytes_contents";
            case FP16, BF16 -> "none";
        };
    }

    private static int fieldCount(Datatype datatype, InferTensorContents contents) {
        return switch (datatype) {
            case BOOL -> contents.getBoolContentsCount();
            case INT8, INT16, INT32 -> contents.getIntContentsCount();
            case INT64 -> contents.getInt64ContentsCount();
            case UINT8, UINT16, UINT32 -> contents.getUintContentsCount();
            case UINT64 -> contents.getUint64ContentsCount();
            case FP32 -> contents.getFp32ContentsCount();
            case FP64 -> contents.getFp64ContentsCount();
            case BYTES -> contents.getBytesContentsCount();
            case FP16, BF16 -> 0;
        };
    }

    private static void requireCount(String name, Datatype datatype, String field, int actual, int expected) {
        if (actual != expected) {
            throw invalid("input '" + name + "': shape needs " + expected + " " + datatype + " elements, "
                    + field + " has " + actual);
        }
    }

    static StatusRuntimeException invalid(String message) {
        return Status.INVALID_ARGUMENT.withDescription(message).asRuntimeException();
    }
}
