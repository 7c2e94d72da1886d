package dev.tierserve.it;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** all-MiniLM-L6 from the langchain4j jar: the small model the tests' workers compress. */
final class MiniLmRepository {

    static final String MODEL = "minilm";
    static final String TEXT = "minilm-text";

    private MiniLmRepository() {
    }

    /** A model repository with all-MiniLM-L6 ({@code minilm}) and its text embedding ({@code minilm-text}). */
    static Path create(Path dir) throws Exception {
        Path minilm = Files.createDirectories(dir.resolve(MODEL));
        for (String[] file : List.of(new String[] {"/all-minilm-l6-v2.onnx", "model.onnx"},
                new String[] {"/all-minilm-l6-v2-tokenizer.json", "tokenizer.json"})) {
            try (InputStream in = MiniLmRepository.class.getResourceAsStream(file[0])) {
                Files.copy(in, minilm.resolve(file[1]));
            }
        }
        Files.writeString(minilm.resolve("config.pbtxt"), "backend: \"onnxruntime\"\n");
        Files.writeString(Files.createDirectories(dir.resolve(TEXT)).resolve("config.pbtxt"), """
                backend: "text-embedding"
                parameters { key: "base_model" value { string_value: "%s" } }
                parameters { key: "pooling" value { string_value: "mean" } }
                """.formatted(MODEL));
        return dir;
    }
}
