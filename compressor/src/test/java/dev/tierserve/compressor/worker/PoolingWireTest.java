package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.calib.Pooling;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PoolingWireTest {

    @Test
    void mapsTheWireValuesAndDefaultsToMeanPooling() {
        assertEquals(Pooling.CLS, PoolingWire.fromWire(dev.tierserve.proto.compressor.Pooling.POOLING_CLS));
        assertEquals(Pooling.MEAN, PoolingWire.fromWire(dev.tierserve.proto.compressor.Pooling.POOLING_MEAN));
        assertEquals(Pooling.MEAN, PoolingWire.fromWire(dev.tierserve.proto.compressor.Pooling.POOLING_UNSPECIFIED));
        assertThrows(IllegalArgumentException.class,
                () -> PoolingWire.fromWire(dev.tierserve.proto.compressor.Pooling.UNRECOGNIZED));
    }
}
