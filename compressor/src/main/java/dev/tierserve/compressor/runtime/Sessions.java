package dev.tierserve.compressor.runtime;

import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tierserve.store.RuntimeSettings;

/** ONNX Runtime sessions for the compressor: one environment, the provider and threads of the settings. */
public final class Sessions {

    private Sessions() {
    }

    public static OrtEnvironment environment() {
        return OrtEnvironment.getEnvironment();
    }

    public static OrtSession open(ModelProto model, RuntimeSettings.Provider provider, int threads) {
        try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
            options.setIntraOpNumThreads(threads);
            options.setInterOpNumThreads(1);
            options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
            if (provider == RuntimeSettings.Provider.CUDA) {
                options.addCUDA(0);
            }
            return environment().createSession(model.toByteArray(), options);
        } catch (OrtException e) {
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
