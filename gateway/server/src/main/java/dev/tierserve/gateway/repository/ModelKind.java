package dev.tierserve.gateway.repository;

/** How the gateway serves a model folder, from its config's {@code backend}. */
public enum ModelKind {
    /** An ONNX graph served tensor in, tensor out ({@code backend: "onnxruntime"}). */
    ONNX,
    /** Sentences in, normalised sentence embeddings out, over a base ONNX encoder ({@code backend: "text-embedding"}). */
    TEXT_EMBEDDING
}
