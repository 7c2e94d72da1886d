package dev.tierserve.gateway.runtime;

/** Where ONNX Runtime executes a session. */
public enum ExecutionProvider {
    CPU,
    CUDA,
    /** CUDA when its provider can be created on this machine, CPU otherwise; resolved once at start-up. */
    AUTO
}
