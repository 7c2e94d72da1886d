package dev.tierserve.gateway.stats;

import dev.tierserve.proto.inference.StatisticDuration;
import java.util.concurrent.atomic.LongAdder;

/** A cumulative count and nanosecond total, as the protocol's StatisticDuration reports it. */
final class Duration {

    private final LongAdder count = new LongAdder();
    private final LongAdder nanos = new LongAdder();

    void add(long elapsedNanos) {
        count.increment();
        nanos.add(elapsedNanos);
    }

    StatisticDuration snapshot() {
        return StatisticDuration.newBuilder().setCount(count.sum()).setNs(nanos.sum()).build();
    }
}
