package dev.tierserve.client;

import com.google.protobuf.ByteString;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/** Builds request tensors from command-line arguments and reads float outputs back. */
final class TensorArguments {

    private TensorArguments() {
    }

    /** Sentences as the text model's TEXT input: BYTES, shape [n]. */
    static void addText(ModelInferRequest.Builder request, List<String> texts, boolean raw) {
        InferInputTensor.Builder input = InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES")
                .addShape(texts.size());
        if (raw) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String text : texts) {
                byte[] utf8 = text.getBytes(StandardCharsets.UTF_8);
                bytes.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(utf8.length).array());
                bytes.writeBytes(utf8);
            }
            request.addInputs(input).addRawInputContents(ByteString.copyFrom(bytes.toByteArray()));
        } else {
            InferTensorContents.Builder contents = InferTensorContents.newBuilder();
            texts.forEach(text -> contents.addBytesContents(ByteString.copyFromUtf8(text)));
            request.addInputs(input.setContents(contents));
        }
    }

    /** NAME:DATATYPE:DIMS:VALUES with DIMS like 1x4 and comma-separated VALUES; INT32, INT64, FP32, FP64. */
    static void addTensor(ModelInferRequest.Builder request, String spec, boolean raw) {
        String[] parts = spec.split(":", 4);
        if (parts.length != 4) {
            throw new IllegalArgumentException("--input wants NAME:DATATYPE:DIMS:VALUES, got " + spec);
        }
        String datatype = parts[1].toUpperCase(Locale.ROOT);
        long[] shape = Arrays.stream(parts[2].split("x")).mapToLong(Long::parseLong).toArray();
        String[] values = parts[3].split(",");
        InferInputTensor.Builder input = InferInputTensor.newBuilder().setName(parts[0]).setDatatype(datatype);
        Arrays.stream(shape).forEach(input::addShape);
        if (raw) {
            int width = switch (datatype) {
                case "INT32", "FP32" -> 4;
                case "INT64", "FP64" -> 8;
                default -> throw new IllegalArgumentException("unsupported datatype " + datatype);
            };
            ByteBuffer buffer = ByteBuffer.allocate(values.length * width).order(ByteOrder.LITTLE_ENDIAN);
            for (String value : values) {
                switch (datatype) {
                    case "INT32" -> buffer.putInt(Integer.parseInt(value.trim()));
                    case "INT64" -> buffer.putLong(Long.parseLong(value.trim()));
                    case "FP32" -> buffer.putFloat(Float.parseFloat(value.trim()));
                    default -> buffer.putDouble(Double.parseDouble(value.trim()));
                }
            }
            request.addInputs(input).addRawInputContents(ByteString.copyFrom(buffer.array()));
            return;
        }
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        for (String value : values) {
            switch (datatype) {
                case "INT32" -> contents.addIntContents(Integer.parseInt(value.trim()));
                case "INT64" -> contents.addInt64Contents(Long.parseLong(value.trim()));
                case "FP32" -> contents.addFp32Contents(Float.parseFloat(value.trim()));
                case "FP64" -> contents.addFp64Contents(Double.parseDouble(value.trim()));
                default -> throw new IllegalArgumentException("unsupported datatype " + datatype);
            }
        }
        request.addInputs(input.setContents(contents));
    }

    static float[] floats(ByteString raw) {
        ByteBuffer buffer = raw.asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
        float[] values = new float[buffer.remaining() / 4];
        buffer.asFloatBuffer().get(values);
        return values;
    }

    static float[] floats(InferTensorContents contents) {
        float[] values = new float[contents.getFp32ContentsCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = contents.getFp32Contents(i);
        }
        return values;
    }

    static String head(float[] values, int count) {
        StringBuilder text = new StringBuilder("[");
        for (int i = 0; i < Math.min(count, values.length); i++) {
            text.append(i == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.5f", values[i]));
        }
        return text.append(values.length > count ? ", ... (" + values.length + " values)]" : "]").toString();
    }
}
