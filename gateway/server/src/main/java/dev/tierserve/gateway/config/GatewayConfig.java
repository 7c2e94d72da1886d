package dev.tierserve.gateway.config;

import dev.tierserve.gateway.runtime.ExecutionProvider;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** Everything an operator can set on the gateway, under the {@code gateway.} prefix. */
@ConfigMapping(prefix = "gateway")
public interface GatewayConfig {

    /** Directory of models: one folder per model with {@code config.pbtxt} and {@code model.onnx}. */
    @WithDefault("models")
    Path repository();

    /** Extract the bundled BGE-small-en-v1.5 into the repository when it is missing there. */
    @WithDefault("true")
    boolean embeddedDefault();

    /** Models loaded and warmed up before the server reports ready. */
    @WithDefault("bge-small-en-v1.5")
    List<String> preload();

    Onnx onnx();

    Inference inference();

    Cache cache();

    interface Onnx {
        /** {@code cpu}, {@code cuda}, or {@code auto}: CUDA when its provider can be created, else CPU. */
        @WithDefault("auto")
        ExecutionProvider executionProvider();

        /** Intra-op threads of every session; 1 keeps one request per core predictable. */
        @WithDefault("1")
        int intraOpThreads();

        /** CUDA device id when the CUDA provider is used. */
        @WithDefault("0")
        int cudaDevice();
    }

    interface Inference {
        /** Inference worker threads; requests never run on the gRPC event loop. */
        Optional<Integer> workers();

        /** Requests waiting for a worker; beyond it requests fail fast with RESOURCE_EXHAUSTED. */
        @WithDefault("256")
        int queueCapacity();

        /** Largest batch (first dimension) a request may carry. */
        @WithDefault("64")
        int maxBatchSize();
    }

    interface Cache {
        /** Upper bound on the summed size of loaded sessions, in bytes (weights are weighed by file size). */
        @WithDefault("4294967296")
        long maxBytes();
    }
}
