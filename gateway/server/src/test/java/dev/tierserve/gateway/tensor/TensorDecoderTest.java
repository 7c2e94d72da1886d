package dev.tierserve.gateway.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Wire decoding of every supported datatype, typed and raw, without a server. */
class TensorDecoderTest {

    @Test
    void rawLittleEndianValuesArriveInNativeOrder() {
        ByteBuffer wire = ByteBuffer.allocate(3 * 8).order(ByteOrder.LITTLE_ENDIAN).putLong(1).putLong(-2).putLong(1L << 40);
        DecodedTensor tensor = single(request("x", "INT64", new long[] {3}).addRawInputContents(ByteString.copyFrom(wire.array())));
        long[] values = new long[3];
        tensor.data().asLongBuffer().get(values);
        assertArrayEquals(new long[] {1, -2, 1L << 40}, values);
        assertEquals(ByteOrder.nativeOrder(), tensor.data().order());
    }

    @Test
    void typedContentsOfEachTypeHaveTheElementSizeOfTheirDatatype() {
        assertEquals(4, single(request("b", "BOOL", new long[] {4}).setInputs(0, input("b", "BOOL", 4)
                .setContents(InferTensorContents.newBuilder().addBoolContents(true).addBoolContents(false)
                        .addBoolContents(true).addBoolContents(true)))).data().capacity());
        assertEquals(8, single(request("i", "INT32", new long[] {2}).setInputs(0, input("i", "INT32", 2)
                .setContents(InferTensorContents.newBuilder().addIntContents(7).addIntContents(-7)))).data().capacity());
        DecodedTensor floats = single(request("f", "FP32", new long[] {2}).setInputs(0, input("f", "FP32", 2)
                .setContents(InferTensorContents.newBuilder().addFp32Contents(1.5f).addFp32Contents(-0.25f))));
        assertEquals(-0.25f, floats.data().asFloatBuffer().get(1));
        DecodedTensor doubles = single(request("d", "FP64", new long[] {1}).setInputs(0, input("d", "FP64", 1)
                .setContents(InferTensorContents.newBuilder().addFp64Contents(Math.PI))));
        assertEquals(Math.PI, doubles.data().asDoubleBuffer().get(0));
    }

    @Test
    void fp16TravelsRawOnly() {
        ByteBuffer half = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 0x3C00).putShort((short) 0xC000);
        DecodedTensor tensor = single(request("h", "FP16", new long[] {2}).addRawInputContents(ByteString.copyFrom(half.array())));
        assertEquals((short) 0x3C00, tensor.data().asShortBuffer().get(0));
        StatusRuntimeException typed = assertThrows(StatusRuntimeException.class,
                () -> TensorDecoder.decode(request("h", "FP16", new long[] {2}).build()));
        assertTrue(typed.getStatus().getDescription().contains("raw_input_contents"));
    }

    @Test
    void rawBytesAreLengthPrefixedStrings() {
        ByteBuffer wire = ByteBuffer.allocate(4 + 2 + 4 + 0 + 4 + 3).order(ByteOrder.LITTLE_ENDIAN);
        wire.putInt(2).put("hi".getBytes()).putInt(0).putInt(3).put("you".getBytes());
        DecodedTensor tensor = single(request("s", "BYTES", new long[] {3}).addRawInputContents(ByteString.copyFrom(wire.array())));
        assertEquals(List.of("hi", "", "you"), java.util.Arrays.stream(tensor.strings()).map(String::new).toList());

        ByteBuffer trailing = ByteBuffer.allocate(4 + 2 + 1).order(ByteOrder.LITTLE_ENDIAN).putInt(2).put("hi".getBytes()).put((byte) 0);
        assertInvalid(request("s", "BYTES", new long[] {1}).addRawInputContents(ByteString.copyFrom(trailing.array())), "left after");
    }

    @Test
    void countsAndShapesMustAgree() {
        assertInvalid(request("x", "INT64", new long[] {2, 2}).setInputs(0, input("x", "INT64", 2, 2)
                .setContents(InferTensorContents.newBuilder().addInt64Contents(1))), "int64_contents has 1");
        assertInvalid(request("x", "INT64", new long[] {2}).addRawInputContents(ByteString.copyFrom(new byte[15])), "16 bytes");
        assertInvalid(request("x", "INT64", new long[] {1L << 40, 1L << 40}), "invalid shape");
        assertInvalid(request("x", "COMPLEX", new long[] {1}), "unknown datatype");
    }

    private static void assertInvalid(ModelInferRequest.Builder request, String messagePart) {
        StatusRuntimeException error = assertThrows(StatusRuntimeException.class, () -> TensorDecoder.decode(request.build()));
        assertEquals(Status.Code.INVALID_ARGUMENT, error.getStatus().getCode());
        assertTrue(error.getStatus().getDescription().contains(messagePart), error.getStatus().getDescription());
    }

    private static DecodedTensor single(ModelInferRequest.Builder request) {
        List<DecodedTensor> decoded = TensorDecoder.decode(request.build());
        assertEquals(1, decoded.size());
        return decoded.get(0);
    }

    private static ModelInferRequest.Builder request(String name, String datatype, long[] shape) {
        return ModelInferRequest.newBuilder().setModelName("m").addInputs(input(name, datatype, shape));
    }

    private static InferInputTensor.Builder input(String name, String datatype, long... shape) {
        InferInputTensor.Builder input = InferInputTensor.newBuilder().setName(name).setDatatype(datatype);
        for (long dimension : shape) {
            input.addShape(dimension);
        }
        return input;
    }
}
