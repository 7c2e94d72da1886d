package dev.tierserve.compressor.worker;

/** A running job's lease lapsed: another worker may have taken the job over, so this one stops without a word. */
final class LeaseLostException extends RuntimeException {

    LeaseLostException(String message) {
        super(message);
    }
}
