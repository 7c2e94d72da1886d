package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.calib.Pooling;

/** The compressor contract's {@code Pooling} to the evaluation's: a request that leaves it out gets mean pooling. */
final class PoolingWire {

    private PoolingWire() {
    }

    /** @throws IllegalArgumentException for a value this worker's contract does not know */
    static Pooling fromWire(dev.tierserve.proto.compressor.Pooling pooling) {
        return switch (pooling) {
            case POOLING_CLS -> Pooling.CLS;
            case POOLING_MEAN, POOLING_UNSPECIFIED -> Pooling.MEAN;
            case UNRECOGNIZED -> throw new IllegalArgumentException("unknown pooling; expected POOLING_CLS or "
                    + "POOLING_MEAN");
        };
    }
}
