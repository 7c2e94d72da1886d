package dev.tierserve.store;

/** A variant whose files do not match its manifest (checksum, missing file): it must never be served. */
public final class CorruptVariantException extends RuntimeException {

    public CorruptVariantException(String message) {
        super(message);
    }
}
