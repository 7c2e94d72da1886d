package dev.tierserve.compressor;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.OnnxModelWriter;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The real BERT-family exports from the langchain4j jars on the test class path, parsed once per JVM. */
public final class TestModels {

    public static final String BGE_SMALL = "bge-small-en-v1.5.onnx";
    public static final String MINILM = "all-minilm-l6-v2.onnx";
    public static final String E5_SMALL = "e5-small-v2.onnx";
    public static final String BGE_TOKENIZER = "bge-small-en-v1.5-tokenizer.json";
    public static final String MINILM_TOKENIZER = "all-minilm-l6-v2-tokenizer.json";

    private static final Map<String, ModelProto> MODELS = new ConcurrentHashMap<>();
    private static final Map<String, Path> FILES = new ConcurrentHashMap<>();

    private TestModels() {
    }

    public static ModelProto load(String resource) {
        return MODELS.computeIfAbsent(resource, r -> OnnxModelReader.read(file(r)));
    }

    /** A model directory as the compressor reads one: {@code <dir>/model.onnx} with {@code tokenizer.json} beside it. */
    public static Path modelDirectory(Path dir, String model, String tokenizer) throws IOException {
        Path file = Files.createDirectories(dir).resolve("model.onnx");
        OnnxModelWriter.write(load(model), file);
        Files.copy(file(tokenizer), file.resolveSibling("tokenizer.json"), StandardCopyOption.REPLACE_EXISTING);
        return file;
    }

    /** The resource copied to a file (once), for byte-level comparisons. */
    public static Path file(String resource) {
        return FILES.computeIfAbsent(resource, r -> {
            try (InputStream in = TestModels.class.getResourceAsStream("/" + r)) {
                if (in == null) {
                    throw new IllegalStateException(r + " is not on the test class path");
                }
                Path file = Files.createTempFile("tierserve-", "-" + r);
                file.toFile().deleteOnExit();
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                return file;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
