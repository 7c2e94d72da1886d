package dev.tierserve.compressor.data;

/**
 * A user-supplied text or tokenizer file that cannot be read or does not hold what it should (no such file, not
 * UTF-8, a JSONL line without text, a tokenizer.json the tokenizer library rejects). The message names the file.
 */
public final class InputFileException extends IllegalArgumentException {

    public InputFileException(String message) {
        super(message);
    }

    public InputFileException(String message, Throwable cause) {
        super(message, cause);
    }
}
