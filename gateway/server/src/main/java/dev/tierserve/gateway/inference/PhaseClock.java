package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.stats.InferenceTimings;

/** Splits one request's time into the protocol's phases: queue, compute input, compute infer, compute output. */
final class PhaseClock {

    private final long receivedNanos;
    private long queue;
    private long mark;
    private long input;
    private long infer;
    private long output;
    private long batch = 1;

    PhaseClock(long receivedNanos) {
        this.receivedNanos = receivedNanos;
    }

    void started(long queueNanos) {
        queue = queueNanos;
        mark = System.nanoTime();
    }

    void inputDone() {
        input = lap();
    }

    void inferDone() {
        infer = lap();
    }

    void outputDone() {
        output = lap();
    }

    void batch(long size) {
        batch = size;
    }

    long sinceReceived() {
        return System.nanoTime() - receivedNanos;
    }

    InferenceTimings timings() {
        return new InferenceTimings(queue, input, infer, output, sinceReceived(), batch);
    }

    private long lap() {
        long now = System.nanoTime();
        long elapsed = now - mark;
        mark = now;
        return elapsed;
    }
}
