package dev.tierserve.gateway.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

class TierTest {

    @Test
    void parsesExactAutoAndSpeedups() {
        assertEquals(Tier.EXACT, Tier.parse("exact"));
        assertEquals(Tier.AUTO, Tier.parse(" AUTO "));
        assertEquals("1.5x", Tier.parse("1.5x").name());
        assertEquals("3x", Tier.parse("3X").name());
    }

    @Test
    void rejectsMalformedTiers() {
        for (String malformed : new String[] {"", "fast", "2", "x2", "0.5x", "-2x", "1.5xx"}) {
            StatusRuntimeException error = assertThrows(StatusRuntimeException.class, () -> Tier.parse(malformed), malformed);
            assertEquals(Status.Code.INVALID_ARGUMENT, error.getStatus().getCode());
        }
    }
}
