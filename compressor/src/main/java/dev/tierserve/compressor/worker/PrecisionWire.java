package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.plan.Precision;

import java.util.List;

/**
 * The compressor contract's {@code Precision} list to the planner's: a request that leaves it out gets
 * {@link Precision#defaults()}.
 */
final class PrecisionWire {

    private PrecisionWire() {
    }

    /** @throws IllegalArgumentException for an unspecified value or one this worker's contract does not know */
    static List<Precision> fromWire(List<dev.tierserve.proto.compressor.Precision> precisions) {
        if (precisions.isEmpty()) {
            return Precision.defaults();
        }
        return precisions.stream().map(PrecisionWire::fromWire).distinct().toList();
    }

    private static Precision fromWire(dev.tierserve.proto.compressor.Precision precision) {
        return switch (precision) {
            case PRECISION_FLOAT32 -> Precision.FLOAT32;
            case PRECISION_INT8 -> Precision.INT8;
            case PRECISION_UNSPECIFIED, UNRECOGNIZED -> throw new IllegalArgumentException("unknown precision; "
                    + "expected PRECISION_FLOAT32 or PRECISION_INT8");
        };
    }
}
