package dev.tierserve.compressor.plan;

import java.util.OptionalDouble;

/**
 * How much int8 speeds up a model that structured pruning has already made faster. Int8 divides the time of the
 * MatMuls it rewrites by a factor {@code q} and leaves the rest ({@code untouched}: attention's activation products,
 * softmax, norms, the activations' quantization) as it is; pruning shrinks mostly the MatMuls, so the more a model is
 * pruned, the less int8 adds. Two timed pairs, each a model and its int8 copy (the parent, and the parent with half of
 * every layer's heads and channels), determine both numbers:
 * <pre>
 *   t_int8 = untouched + (t_float - untouched) / q
 * </pre>
 *
 * @param parentMs  the parent's float time
 * @param untouched the time int8 does not change, in ms
 * @param factor    {@code q}; 1 when int8 does not pay on this runtime
 */
record Int8GainModel(double parentMs, double untouched, double factor) {

    /** Fits the model to the two pairs; a runtime where int8 is no faster gets factor 1 (no stacking). */
    static Int8GainModel fit(double parentMs, double parentInt8Ms, double halfMs, double halfInt8Ms) {
        double q = (parentMs - halfMs) / (parentInt8Ms - halfInt8Ms);
        if (!Double.isFinite(q) || q <= 1 || parentInt8Ms >= parentMs) {
            return new Int8GainModel(parentMs, parentMs, 1);
        }
        double untouched = (parentInt8Ms - parentMs / q) / (1 - 1 / q);
        return new Int8GainModel(parentMs, Math.max(0, Math.min(untouched, parentInt8Ms)), q);
    }

    /**
     * The structured speedup whose int8 copy is expected to be {@code speedup} times faster than the parent; empty
     * when int8 cannot get there (the untouched time alone is too slow, or int8 does not pay).
     */
    OptionalDouble base(double speedup) {
        double wanted = parentMs / speedup;
        if (factor <= 1 || wanted <= untouched) {
            return OptionalDouble.empty();
        }
        return OptionalDouble.of(parentMs / (factor * (wanted - untouched) + untouched));
    }
}
