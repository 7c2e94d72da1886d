package dev.tierserve.compressor.graph;

/** A file that is not a readable ONNX model, or whose external data is missing or inconsistent. */
public final class OnnxFormatException extends RuntimeException {

    public OnnxFormatException(String message) {
        super(message);
    }

    public OnnxFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
