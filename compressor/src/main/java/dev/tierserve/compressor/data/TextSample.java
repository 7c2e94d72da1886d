package dev.tierserve.compressor.data;

/** One piece of text for calibration or evaluation, with an optional class label (null when unlabelled). */
public record TextSample(String text, String label) {

    public TextSample {
        if (text == null || text.isBlank()) {
            throw new IllegalArgumentException("empty text sample");
        }
    }
}
