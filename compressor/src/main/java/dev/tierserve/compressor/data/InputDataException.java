package dev.tierserve.compressor.data;

/**
 * Text data or a tokenizer the user supplied that cannot be used: a file that cannot be read or does not hold what
 * it should (no such file, not UTF-8, a JSONL line without text, a tokenizer.json the tokenizer library rejects),
 * or fewer texts than the run asks for. The message names the file or the counts.
 */
public final class InputDataException extends IllegalArgumentException {

    public InputDataException(String message) {
        super(message);
    }

    public InputDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
