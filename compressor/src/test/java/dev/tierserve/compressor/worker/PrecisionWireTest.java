package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.plan.Precision;
import org.junit.jupiter.api.Test;

import java.util.List;

import static dev.tierserve.proto.compressor.Precision.PRECISION_FLOAT32;
import static dev.tierserve.proto.compressor.Precision.PRECISION_INT8;
import static dev.tierserve.proto.compressor.Precision.PRECISION_UNSPECIFIED;
import static dev.tierserve.proto.compressor.Precision.UNRECOGNIZED;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PrecisionWireTest {

    @Test
    void mapsTheWireValuesAndDefaultsToBoth() {
        assertEquals(List.of(Precision.FLOAT32, Precision.INT8), PrecisionWire.fromWire(List.of()));
        assertEquals(List.of(Precision.INT8), PrecisionWire.fromWire(List.of(PRECISION_INT8, PRECISION_INT8)));
        assertEquals(List.of(Precision.FLOAT32, Precision.INT8),
                PrecisionWire.fromWire(List.of(PRECISION_FLOAT32, PRECISION_INT8)));
        assertThrows(IllegalArgumentException.class, () -> PrecisionWire.fromWire(List.of(PRECISION_UNSPECIFIED)));
        assertThrows(IllegalArgumentException.class, () -> PrecisionWire.fromWire(List.of(PRECISION_INT8,
                UNRECOGNIZED)));
    }
}
