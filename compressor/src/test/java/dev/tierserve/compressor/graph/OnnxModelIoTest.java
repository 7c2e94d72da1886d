package dev.tierserve.compressor.graph;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import dev.tierserve.compressor.OrtRunner;
import dev.tierserve.compressor.TestModels;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OnnxModelIoTest {

    @TempDir
    Path dir;

    @Test
    void unchangedRoundTripIsByteIdentical() throws IOException {
        Path original = TestModels.file(TestModels.MINILM);
        Path copy = dir.resolve("model.onnx");
        OnnxModelWriter.write(OnnxModelReader.read(original), copy);
        assertArrayEquals(Files.readAllBytes(original), Files.readAllBytes(copy));
        assertFalse(Files.exists(dir.resolve("model.onnx.data")));
    }

    @Test
    void externalDataRoundTripsAndRunsFromItsDirectory() throws Exception {
        ModelProto model = TestModels.load(TestModels.MINILM);
        Path external = dir.resolve("external/model.onnx");
        Files.createDirectories(external.getParent());
        assertTrue(OnnxModelWriter.builder().forceExternal(true).build().writeTo(model, external));
        Path data = external.resolveSibling("model.onnx.data");
        assertTrue(Files.size(data) > 80_000_000L, "weights moved to the data file");
        assertTrue(Files.size(external) < 1_000_000L, "the graph file holds no large tensors");

        ModelProto reread = OnnxModelReader.read(external);
        assertEquals(model, reread, "external data is read back into the same model");

        Path again = dir.resolve("again/model.onnx");
        Files.createDirectories(again.getParent());
        OnnxModelWriter.builder().forceExternal(true).build().writeTo(reread, again);
        assertArrayEquals(Files.readAllBytes(external), Files.readAllBytes(again));
        assertArrayEquals(Files.readAllBytes(data), Files.readAllBytes(again.resolveSibling("model.onnx.data")));

        // ONNX Runtime itself resolves the data file when loading by path.
        var env = ai.onnxruntime.OrtEnvironment.getEnvironment();
        try (var session = env.createSession(external.toString())) {
            assertEquals(3, session.getNumInputs());
        }
    }

    @Test
    void modelsAboveTheInlineLimitAreWrittenWithExternalData() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        Path file = dir.resolve("big.onnx");
        boolean external = OnnxModelWriter.builder().inlineLimitBytes(10_000_000).build().writeTo(model, file);
        assertTrue(external, "90 MB of weights exceed a 10 MB inline limit");
        assertTrue(Files.exists(dir.resolve("big.onnx.data")));
        assertEquals(model, OnnxModelReader.read(file));
        long bigTensors = OnnxModelReader.read(file).getGraph().getInitializerList().stream()
                .filter(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL).count();
        assertEquals(0, bigTensors, "the reader inlines every external tensor");
    }

    @Test
    void corruptOrMissingDataGivesAClearError() throws IOException {
        Path garbage = dir.resolve("garbage.onnx");
        Files.write(garbage, new byte[] {8, 7, 0x12, (byte) 0xff, (byte) 0xff, 1, 2, 3});
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxModelReader.read(garbage));
        assertTrue(e.getMessage().contains("not an ONNX model"), e.getMessage());

        Path external = dir.resolve("model.onnx");
        OnnxModelWriter.builder().forceExternal(true).build().writeTo(TestModels.load(TestModels.MINILM), external);
        Files.write(dir.resolve("model.onnx.data"), new byte[100]);
        e = assertThrows(OnnxFormatException.class, () -> OnnxModelReader.read(external));
        assertTrue(e.getMessage().contains("wants bytes"), e.getMessage());
    }

    @Test
    void externalDataOutsideTheModelDirectoryIsRefusedByTheReaderAndByOnnxRuntime() throws Exception {
        Path secret = dir.resolve("secret.bin");
        Path model = dir.resolve("models/m/model.onnx");
        Files.createDirectories(model.getParent());
        OnnxModelWriter.builder().forceExternal(true).build().writeTo(TestModels.load(TestModels.MINILM), model);
        Files.move(model.resolveSibling("model.onnx.data"), secret);
        Files.createSymbolicLink(model.resolveSibling("linked.data"), secret);
        for (String location : new String[] {"../../secret.bin", secret.toString(), "linked.data"}) {
            Files.write(model, relocated(OnnxModelReader.parse(Files.readAllBytes(model)), location).toByteArray());
            OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> OnnxModelReader.read(model));
            assertTrue(e.getMessage().contains("outside the model directory"), location + ": " + e.getMessage());
            // The gateway hands model files to ONNX Runtime by path; its own check refuses these locations.
            OrtException ort = assertThrows(OrtException.class,
                    () -> OrtEnvironment.getEnvironment().createSession(model.toString()).close());
            assertTrue(ort.getMessage().contains("escapes model directory")
                    || ort.getMessage().contains("Absolute path not allowed"), location + ": " + ort.getMessage());
        }
    }

    @Test
    void declaredSizesTheDataDoesNotHaveAreRefusedBeforeAnythingIsAllocated() {
        TensorProto huge = TensorProto.newBuilder().setName("w").setDataType(TensorProto.DataType.FLOAT_VALUE)
                .addDims(1 << 30).addDims(2).setRawData(com.google.protobuf.ByteString.copyFrom(new byte[16])).build();
        OnnxFormatException e = assertThrows(OnnxFormatException.class, () -> TensorData.floats(huge));
        assertTrue(e.getMessage().contains("declares dims [1073741824, 2]") && e.getMessage().contains("16 bytes"),
                e.getMessage());
        TensorProto overflowing = huge.toBuilder().clearDims().addDims(Long.MAX_VALUE).addDims(4).build();
        assertTrue(assertThrows(OnnxFormatException.class, () -> TensorData.longs(overflowing.toBuilder()
                .setDataType(TensorProto.DataType.INT64_VALUE).build())).getMessage().contains("overflows"));
        TensorProto negative = huge.toBuilder().clearDims().addDims(-4).build();
        assertTrue(assertThrows(OnnxFormatException.class, () -> TensorData.floats(negative)).getMessage()
                .contains("negative"));
        assertEquals(4, TensorData.floats(huge.toBuilder().clearDims().addDims(2).addDims(2).build()).length);
    }

    private static ModelProto relocated(ModelProto model, String location) {
        ModelProto.Builder builder = model.toBuilder();
        for (TensorProto.Builder tensor : builder.getGraphBuilder().getInitializerBuilderList()) {
            for (var entry : tensor.getExternalDataBuilderList()) {
                if (entry.getKey().equals("location")) {
                    entry.setValue(location);
                }
            }
        }
        return builder.build();
    }

    @Test
    void editedModelRunsAfterWriting() {
        ModelProto model = TestModels.load(TestModels.MINILM);
        MutableGraph graph = new MutableGraph(model);
        graph.removeDeadNodes();
        ModelProto rebuilt = graph.toModel();
        Map<String, Object> inputs = OrtRunner.encoderInputs(1, 8, 0, 1);
        assertArrayEquals(OrtRunner.run(model, inputs).get("last_hidden_state"),
                OrtRunner.run(rebuilt, inputs).get("last_hidden_state"));
    }
}
