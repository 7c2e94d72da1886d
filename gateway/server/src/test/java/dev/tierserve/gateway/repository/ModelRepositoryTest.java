package dev.tierserve.gateway.repository;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelRepositoryTest {

    @TempDir
    Path root;

    @Test
    void aModelFileNameThatLeavesTheFolderIsRefused() throws IOException {
        for (String name : new String[] {"../../etc/passwd", "/etc/passwd", "sub/model.onnx", "..", "a\u0000b"}) {
            Path folder = Files.createDirectories(root.resolve("m"));
            Files.writeString(folder.resolve(ModelRepository.CONFIG_FILENAME),
                    "default_model_filename: \"" + name.replace("\u0000", "\\000") + "\"\n");
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ModelRepository.read(folder),
                    name);
            assertTrue(e.getMessage().contains("must name a file in the model's own folder"), e.getMessage());
        }
    }

    @Test
    void aPlainFileNameIsKept() throws IOException {
        Path folder = Files.createDirectories(root.resolve("m"));
        Files.writeString(folder.resolve(ModelRepository.CONFIG_FILENAME), "default_model_filename: \"weights.onnx\"\n");
        assertEquals(folder.resolve("weights.onnx"), ModelRepository.read(folder).onnxFile());
    }
}
