package dev.tierserve.gateway.stats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Live latency: percentiles per series and batch bucket over a sliding minute, on a clock the test moves. */
class LiveLatencyTest {

    private final AtomicLong now = new AtomicLong(TimeUnit.HOURS.toNanos(5));
    private final LiveLatency latency = new LiveLatency(now::get);

    @Test
    void percentilesArePerSeriesAndBatchBucket() {
        String exact = LiveLatency.series("m", "m");
        String fast = LiveLatency.series("m", "m@v1");
        for (int i = 1; i <= 100; i++) {
            latency.record(exact, 1, 0, TimeUnit.MILLISECONDS.toNanos(i)); // 1..100 ms
            latency.record(fast, 1, 0, TimeUnit.MILLISECONDS.toNanos(10));
            latency.record(exact, 6, 0, TimeUnit.MILLISECONDS.toNanos(500)); // bucket 4
        }
        assertEquals(95, millis(latency.computeNanos(exact, 1, 95)), 1.0);
        assertEquals(10, millis(latency.computeNanos(fast, 1, 95)), 0.1);
        assertEquals(500, millis(latency.computeNanos(exact, 5, 50)), 5.0, "batch 5 and 6 share bucket 4");
        assertTrue(latency.computeNanos(exact, 2, 95).isEmpty(), "no batch-2 request was recorded");
        assertTrue(latency.computeNanos(LiveLatency.series("other", "m"), 1, 95).isEmpty());
        assertEquals(4, LiveLatency.bucket(7));
        assertEquals(1, LiveLatency.bucket(0));
    }

    @Test
    void oldSamplesLeaveTheWindow() {
        String series = LiveLatency.series("m", "m");
        latency.record(series, 1, TimeUnit.MILLISECONDS.toNanos(3), TimeUnit.MILLISECONDS.toNanos(200));
        now.addAndGet(TimeUnit.SECONDS.toNanos(30));
        latency.record(series, 1, 0, TimeUnit.MILLISECONDS.toNanos(20));
        assertEquals(200, millis(latency.computeNanos(series, 1, 100)), 2.0, "both samples within the minute");
        assertEquals(3, millis(latency.queueNanos(series, 1, 100)), 0.1);
        now.addAndGet(TimeUnit.SECONDS.toNanos(35));
        assertEquals(20, millis(latency.computeNanos(series, 1, 100)), 0.2, "the 200 ms sample aged out");
        now.addAndGet(TimeUnit.MINUTES.toNanos(2));
        assertTrue(latency.computeNanos(series, 1, 95).isEmpty(), "nothing lately");
        assertTrue(latency.meanComputeNanos().isEmpty());
    }

    private static double millis(OptionalLong nanos) {
        return nanos.orElseThrow() / 1e6;
    }
}
