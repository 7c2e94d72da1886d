package dev.tierserve.gateway.repository;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class LatencyObjectiveTest {

    @Test
    void parsesPercentileBoundAndUnit() {
        assertEquals(new LatencyObjective("1.5x", 99, Duration.ofMillis(40)), LatencyObjective.parse("1.5x", "p99<=40ms"));
        assertEquals(new LatencyObjective("exact", 99.9, Duration.ofMillis(500)),
                LatencyObjective.parse("exact", " P99.9 <= 0.5s "));
        assertEquals(Duration.ofNanos(750_000), LatencyObjective.parse("2x", "p50<=750us").max());
    }

    @Test
    void refusesWhatDoesNotParseNamingIt() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LatencyObjective.parse("fast", "p99<=40ms"))
                .getMessage().contains("'fast'"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LatencyObjective.parse("2x", "99<=40"))
                .getMessage().contains("p99<=40ms"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LatencyObjective.parse("2x", "p100<=40ms"))
                .getMessage().contains("between 0 and 100"));
    }
}
