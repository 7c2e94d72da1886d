package dev.tierserve.gateway.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ArrivalRateTest {

    private final AtomicLong now = new AtomicLong(TimeUnit.SECONDS.toNanos(100));
    private final ArrivalRate rate = new ArrivalRate(now::get);

    @Test
    void countsTheLastWholeSecondsPerModel() {
        for (int second = 0; second < ArrivalRate.SECONDS; second++) {
            for (int i = 0; i < 10; i++) {
                rate.record("a");
            }
            rate.record("b");
            now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        }
        for (int i = 0; i < 7; i++) {
            rate.record("a"); // the second still filling: not counted yet
        }
        assertEquals(10.0, rate.perSecond("a"), 1e-9);
        assertEquals(1.0, rate.perSecond("b"), 1e-9);
        assertEquals(0.0, rate.perSecond("c"), 1e-9);
        now.addAndGet(TimeUnit.SECONDS.toNanos(1));
        assertEquals((4 * 10 + 7) / 5.0, rate.perSecond("a"), 1e-9, "the oldest second has left the window");
        now.addAndGet(TimeUnit.SECONDS.toNanos(60));
        assertEquals(0.0, rate.perSecond("a"), 1e-9, "a minute of silence");
    }
}
