package dev.tierserve.gateway.runtime;

/** A model file that exists but cannot be opened by ONNX Runtime (corrupt, truncated, unsupported). */
public final class ModelLoadException extends RuntimeException {

    public ModelLoadException(String message, Throwable cause) {
        super(message, cause);
    }
}
