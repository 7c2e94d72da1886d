package dev.tierserve.compressor.latency;

import ai.onnxruntime.OrtException;

/**
 * Times one run of one candidate. The meter's default reads the monotonic clock around the run; a test can script
 * the durations (e.g. inject spikes into chosen rounds) to check what the meter decides from them.
 */
@FunctionalInterface
public interface Stopwatch {

    /** One inference run, as the meter hands it to the stopwatch. */
    @FunctionalInterface
    interface Run {
        void run() throws OrtException;
    }

    /** Runs {@code run} once and returns how long {@code candidate} took, in nanoseconds. */
    long time(String candidate, Run run) throws OrtException;

    /** The monotonic clock around the run. */
    static Stopwatch system() {
        return (candidate, run) -> {
            long start = System.nanoTime();
            run.run();
            return System.nanoTime() - start;
        };
    }
}
