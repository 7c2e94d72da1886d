package dev.tierserve.gateway;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * The test model repository, beside the embedded default the gateway installs itself: all-MiniLM-L6-v2 (a second
 * real model, for eviction) and a model whose ONNX file is garbage (for load failures).
 */
public class TestModels implements QuarkusTestResourceLifecycleManager {

    public static final Path ROOT = Path.of("target/test-models");
    public static final String MINILM = "all-minilm-l6-v2";
    public static final String CORRUPT = "corrupt";
    /** all-MiniLM-L6 again, with Triton's queue policy: two priority levels, at most 4 waiting per level. */
    public static final String QUEUED = "minilm-queued";
    /** all-MiniLM-L6 again, planning tier=auto for 1 ms when a request has no deadline. */
    public static final String AUTO = "minilm-auto";

    @Override
    public Map<String, String> start() {
        try {
            Path minilm = ROOT.resolve(MINILM);
            Files.createDirectories(minilm);
            copy("/all-minilm-l6-v2.onnx", minilm.resolve("model.onnx"));
            copy("/all-minilm-l6-v2-tokenizer.json", minilm.resolve("tokenizer.json"));
            Files.writeString(minilm.resolve("config.pbtxt"), "backend: \"onnxruntime\"\n");
            Path queued = ROOT.resolve(QUEUED);
            Files.createDirectories(queued);
            copy("/all-minilm-l6-v2.onnx", queued.resolve("model.onnx"));
            Files.writeString(queued.resolve("config.pbtxt"), """
                    backend: "onnxruntime"
                    dynamic_batching {
                      priority_levels: 2
                      default_priority_level: 2
                      default_queue_policy { max_queue_size: 4 }
                    }
                    parameters { key: "latency_objective.exact" value { string_value: "p99<=40ms" } }
                    """);
            Path auto = ROOT.resolve(AUTO);
            Files.createDirectories(auto);
            copy("/all-minilm-l6-v2.onnx", auto.resolve("model.onnx"));
            Files.writeString(auto.resolve("config.pbtxt"), """
                    backend: "onnxruntime"
                    parameters { key: "default_sla_ms" value { string_value: "1" } }
                    """);
            Path corrupt = ROOT.resolve(CORRUPT);
            Files.createDirectories(corrupt);
            Files.write(corrupt.resolve("model.onnx"), "this is not an ONNX protobuf".getBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.of();
    }

    private static void copy(String resource, Path target) throws IOException {
        if (Files.exists(target)) {
            return;
        }
        try (InputStream in = TestModels.class.getResourceAsStream(resource)) {
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Override
    public void stop() {
    }
}
