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
    /** all-MiniLM-L6 again, whose variant a test alters on disk after publishing it. */
    public static final String TAMPERED = "minilm-tampered";
    /** all-MiniLM-L6 again, planning tier=auto for 1 ms when a request has no deadline. */
    public static final String AUTO = "minilm-auto";
    /** all-MiniLM-L6 with dynamic batching that waits (up to a minute) for batches of 4 rows. */
    public static final String MINILM_BATCHED = "minilm-batched";
    /** MiniLM's sentence embeddings (mean pooling): unbatched, and batched by 4 rows. */
    public static final String MINILM_TEXT = "minilm-text";
    public static final String MINILM_TEXT_BATCHED = "minilm-text-batched";
    /** BGE-small with dynamic batching by 4 rows: tensors, and text over it. */
    public static final String BGE_BATCHED = "bge-batched";
    public static final String BGE_TEXT_BATCHED = "bge-text-batched";
    /** BGE-small text batched by 4 rows, but at most 32 tokens (two sentences of up to 16 tokens) a batch. */
    public static final String BGE_TEXT_BUDGET = "bge-text-budget";
    /** BGE-small text batched by up to 4 rows, waiting at most 5 s: a batch that is not filled still runs. */
    public static final String BGE_TEXT_BRIEF = "bge-text-brief";

    /**
     * all-MiniLM-L6 again, for rollouts: two priority levels (so that a test can keep requests waiting behind the one it
     * watches) and no batching of different shapes.
     */
    public static final String ROLLOUT = "minilm-rollout";
    /** minilm-rollout with a latency objective for tier 1.5x that no variant meets (p50 within 1 us). */
    public static final String ROLLOUT_SLO = "minilm-rollout-slo";

    /** Batches of four rows, waiting up to a minute for them: tests fill them, and a test that does not hangs. */
    private static final String BATCH_OF_FOUR = """
            dynamic_batching {
              preferred_batch_size: [4]
              max_queue_delay_microseconds: 60000000
            }
            """;

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
                    max_batch_size: 1
                    dynamic_batching {
                      priority_levels: 2
                      default_priority_level: 2
                      default_queue_policy { max_queue_size: 4 }
                    }
                    parameters { key: "latency_objective.exact" value { string_value: "p99<=40ms" } }
                    """);
            Path rollout = ROOT.resolve(ROLLOUT);
            Files.createDirectories(rollout);
            copy("/all-minilm-l6-v2.onnx", rollout.resolve("model.onnx"));
            Files.writeString(rollout.resolve("config.pbtxt"), """
                    backend: "onnxruntime"
                    dynamic_batching {
                      priority_levels: 2
                      default_priority_level: 2
                    }
                    """);
            Path rolloutSlo = ROOT.resolve(ROLLOUT_SLO);
            Files.createDirectories(rolloutSlo);
            copy("/all-minilm-l6-v2.onnx", rolloutSlo.resolve("model.onnx"));
            Files.writeString(rolloutSlo.resolve("config.pbtxt"), """
                    backend: "onnxruntime"
                    parameters { key: "latency_objective.1.5x" value { string_value: "p50<=1us" } }
                    """);
            Path auto = ROOT.resolve(AUTO);
            Files.createDirectories(auto);
            copy("/all-minilm-l6-v2.onnx", auto.resolve("model.onnx"));
            Files.writeString(auto.resolve("config.pbtxt"), """
                    backend: "onnxruntime"
                    parameters { key: "default_sla_ms" value { string_value: "1" } }
                    """);
            Path tampered = ROOT.resolve(TAMPERED);
            Files.createDirectories(tampered);
            copy("/all-minilm-l6-v2.onnx", tampered.resolve("model.onnx"));
            Path minilmBatched = ROOT.resolve(MINILM_BATCHED);
            Files.createDirectories(minilmBatched);
            copy("/all-minilm-l6-v2.onnx", minilmBatched.resolve("model.onnx"));
            copy("/all-minilm-l6-v2-tokenizer.json", minilmBatched.resolve("tokenizer.json"));
            Files.writeString(minilmBatched.resolve("config.pbtxt"), "backend: \"onnxruntime\"\n" + BATCH_OF_FOUR);
            textModel(MINILM_TEXT, MINILM, "mean", "");
            textModel(MINILM_TEXT_BATCHED, MINILM, "mean", BATCH_OF_FOUR);
            Path bgeBatched = ROOT.resolve(BGE_BATCHED);
            Files.createDirectories(bgeBatched);
            copy("/bge-small-en-v1.5.onnx", bgeBatched.resolve("model.onnx"));
            copy("/bge-small-en-v1.5-tokenizer.json", bgeBatched.resolve("tokenizer.json"));
            Files.writeString(bgeBatched.resolve("config.pbtxt"), "backend: \"onnxruntime\"\n" + BATCH_OF_FOUR);
            textModel(BGE_TEXT_BATCHED, BGE_BATCHED, "cls", BATCH_OF_FOUR);
            textModel(BGE_TEXT_BUDGET, BGE_BATCHED, "cls", BATCH_OF_FOUR
                    + "parameters { key: \"max_batch_tokens\" value { string_value: \"32\" } }\n");
            textModel(BGE_TEXT_BRIEF, BGE_BATCHED, "cls", """
                    dynamic_batching {
                      preferred_batch_size: [4]
                      max_queue_delay_microseconds: 5000000
                    }
                    """);
            Path corrupt = ROOT.resolve(CORRUPT);
            Files.createDirectories(corrupt);
            Files.write(corrupt.resolve("model.onnx"), "this is not an ONNX protobuf".getBytes());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Map.of();
    }

    private static void textModel(String name, String base, String pooling, String extra) throws IOException {
        Path folder = ROOT.resolve(name);
        Files.createDirectories(folder);
        Files.writeString(folder.resolve("config.pbtxt"), """
                backend: "text-embedding"
                parameters { key: "base_model" value { string_value: "%s" } }
                parameters { key: "pooling" value { string_value: "%s" } }
                """.formatted(base, pooling) + extra);
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
