package dev.tierserve.compressor.runtime;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tierserve.store.RuntimeSettings;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** ONNX Runtime sessions for the compressor: one environment, the provider and threads of the settings. */
public final class Sessions {

    private Sessions() {
    }

    public static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment();
    }

    /** Sequential execution: one inter-op thread. */
    public static OrtSession open(ModelProto model, RuntimeSettings.Provider provider, int threads) {
        return open(model, provider, threads, 1);
    }

    /**
     * @param interOpThreads 1: the graph's nodes run one after another; more: ONNX Runtime's parallel execution mode
     *                       runs independent branches concurrently on that many threads
     */
    public static OrtSession open(ModelProto model, RuntimeSettings.Provider provider, int threads,
                                  int interOpThreads) {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(interOpThreads);
            options.setExecutionMode(interOpThreads > 1 ? OrtSession.SessionOptions.ExecutionMode.PARALLEL
                    : OrtSession.SessionOptions.ExecutionMode.SEQUENTIAL);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            // As the gateway serves (its runtime.OnnxRuntimeFactory): no CPU arena, so speedups are measured with the
            // allocations the serving runtime makes.
            options.setCPUArenaAllocator(false);
            if (provider == RuntimeSettings.Provider.CUDA) {
                options.addCUDA(0);
            }
            // Through a file, not a byte array: the model's serialized form (133 MB for BGE-small, once per session a
            // latency comparison opens) never sits on the heap beside the graph itself.
            Path file = Files.createTempFile("tierserve-session-", ".onnx");
            try {
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 16)) {
                    model.writeTo(out);
                }
                return environment().createSession(file.toString(), options);
            } finally {
                Files.deleteIfExists(file);
            }
        } catch (OrtException | IOException e) {
            throw new IllegalStateException("cannot create an ONNX Runtime session: " + e.getMessage(), e);
        }
    }

    public static void closeQuietly(OrtSession session) {
        if (session == null) {
            return;
        }
        try {
            session.close();
        } catch (OrtException ignored) {
            // a session that fails to close cannot be retried; it holds no lock others wait on
        }
    }
}
