package dev.tierserve.jobs;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/** Where the worker finds a parent model's {@code model.onnx} (with its {@code tokenizer.json} beside it). */
@FunctionalInterface
public interface ModelLocator {

    Optional<Path> parentFile(String model);

    /** A model repository laid out one folder per model: {@code <dir>/<model>/model.onnx}. */
    static ModelLocator directory(Path dir) {
        return model -> {
            if (model.isEmpty() || model.contains("/") || model.contains("\\") || model.startsWith(".")) {
                return Optional.empty();
            }
            Path file = dir.resolve(model).resolve("model.onnx");
            return Files.isRegularFile(file) ? Optional.of(file) : Optional.empty();
        };
    }
}
