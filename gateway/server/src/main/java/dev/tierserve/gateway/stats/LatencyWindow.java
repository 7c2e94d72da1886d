package dev.tierserve.gateway.stats;

import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.HdrHistogram.Histogram;

/**
 * Latencies of the last {@code slices × sliceNanos} (a minute by default), as HdrHistograms: one histogram per time
 * slice, the oldest reused for the newest, so that old traffic ages out without any per-sample bookkeeping.
 */
final class LatencyWindow {

    /** 1 µs to an hour at 2 significant digits: enough to tell tiers apart, small enough to keep many. */
    private static final long HIGHEST_MICROS = TimeUnit.HOURS.toMicros(1);

    private final Histogram[] slices;
    private final long[] sliceStarts;
    private final long sliceNanos;
    private final LongSupplier clock;
    private final Histogram merged = new Histogram(HIGHEST_MICROS, 2);

    LatencyWindow(int slices, long sliceNanos, LongSupplier clock) {
        this.slices = new Histogram[slices];
        this.sliceStarts = new long[slices];
        this.sliceNanos = sliceNanos;
        this.clock = clock;
        for (int i = 0; i < slices; i++) {
            this.slices[i] = new Histogram(HIGHEST_MICROS, 2);
            this.sliceStarts[i] = Long.MIN_VALUE;
        }
    }

    synchronized void record(long nanos) {
        long now = clock.getAsLong();
        long start = now - Math.floorMod(now, sliceNanos);
        int index = (int) Math.floorMod(Math.floorDiv(now, sliceNanos), (long) slices.length);
        if (sliceStarts[index] != start) {
            slices[index].reset();
            sliceStarts[index] = start;
        }
        slices[index].recordValue(Math.min(HIGHEST_MICROS, Math.max(0, nanos / 1000)));
    }

    /** The {@code percentile} (0..100) of the window's samples, in nanoseconds; empty when it has none. */
    synchronized OptionalLong percentileNanos(double percentile) {
        Histogram window = window();
        return window.getTotalCount() == 0 ? OptionalLong.empty()
                : OptionalLong.of(window.getValueAtPercentile(percentile) * 1000);
    }

    /** The mean of the window's samples, in nanoseconds; empty when it has none. */
    synchronized OptionalLong meanNanos() {
        Histogram window = window();
        return window.getTotalCount() == 0 ? OptionalLong.empty() : OptionalLong.of((long) (window.getMean() * 1000));
    }

    synchronized long count() {
        return window().getTotalCount();
    }

    private Histogram window() {
        long oldest = clock.getAsLong() - (long) slices.length * sliceNanos;
        merged.reset();
        for (int i = 0; i < slices.length; i++) {
            if (sliceStarts[i] != Long.MIN_VALUE && sliceStarts[i] > oldest) {
                merged.add(slices[i]);
            }
        }
        return merged;
    }
}
