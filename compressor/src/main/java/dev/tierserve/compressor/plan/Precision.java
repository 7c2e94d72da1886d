package dev.tierserve.compressor.plan;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The arithmetic a variant's linear layers run in, the planner's second dimension beside the method: every
 * structured variant can also be offered at a lower precision, measured like any other candidate.
 */
public enum Precision {
    /** The parent's own float weights and arithmetic. */
    FLOAT32,
    /**
     * Dynamic int8 quantization of the MatMuls (weights once, activations per call), stacked on a structured
     * variant or applied to the parent alone. Pays on CPUs with 8-bit dot-product instructions.
     */
    INT8;

    /**
     * What a plan tries when no precision is named: both. Int8 is offered only where the quantized parent measures
     * faster on the serving runtime, and each int8 variant is measured like any other candidate.
     */
    public static List<Precision> defaults() {
        return List.of(FLOAT32, INT8);
    }

    /** The name used on the command line, in job requests and in manifests. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Precision parse(String label) {
        for (Precision precision : values()) {
            if (precision.label().equals(label)) {
                return precision;
            }
        }
        throw new IllegalArgumentException("unknown precision '" + label + "'; available: "
                + Arrays.stream(values()).map(Precision::label).toList());
    }
}
