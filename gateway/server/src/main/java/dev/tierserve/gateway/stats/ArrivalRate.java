package dev.tierserve.gateway.stats;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Requests arriving per second for each model over the last few seconds: what {@code tier=auto} needs to keep the
 * workers from being loaded beyond what they can serve.
 */
@ApplicationScoped
public class ArrivalRate {

    static final int SECONDS = 5;

    private final Map<String, Counts> models = new ConcurrentHashMap<>();
    private final LongSupplier clock;

    public ArrivalRate() {
        this(System::nanoTime);
    }

    ArrivalRate(LongSupplier clock) {
        this.clock = clock;
    }

    /** One request for {@code model} arrived. */
    public void record(String model) {
        models.computeIfAbsent(model, key -> new Counts()).add(second());
    }

    /** Requests per second for {@code model} over the last {@link #SECONDS} whole seconds. */
    public double perSecond(String model) {
        Counts counts = models.get(model);
        return counts == null ? 0 : counts.sumBefore(second()) / (double) SECONDS;
    }

    private long second() {
        return TimeUnit.NANOSECONDS.toSeconds(clock.getAsLong());
    }

    /** One count per second in a ring; the current second is still filling and not read. */
    private static final class Counts {
        private final long[] seconds = new long[SECONDS + 1];
        private final long[] counts = new long[SECONDS + 1];

        synchronized void add(long second) {
            int slot = (int) Math.floorMod(second, (long) seconds.length);
            if (seconds[slot] != second) {
                seconds[slot] = second;
                counts[slot] = 0;
            }
            counts[slot]++;
        }

        synchronized long sumBefore(long now) {
            long sum = 0;
            for (int slot = 0; slot < seconds.length; slot++) {
                if (seconds[slot] < now && seconds[slot] >= now - SECONDS) {
                    sum += counts[slot];
                }
            }
            return sum;
        }
    }
}
