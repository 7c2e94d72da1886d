package dev.tierserve.gateway.inference;

import io.grpc.Status;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The life of one request on the inference executor: queued (its model loading, being prepared, or waiting for a
 * worker), running as a member of an {@link Execution}, then finished; or stopped early by its deadline or by its
 * client. Whoever moves it out of queued or running answers it: the worker when it finishes, {@link #stop} when it is
 * stopped. Stopped while queued it never runs; stopped while running it leaves its execution.
 */
final class RunControl {

    private enum Phase { QUEUED, RUNNING, FINISHED, STOPPED }

    /** What {@link #stop} did. */
    enum Stop {
        /** Nothing: it had already finished or stopped. */
        NONE,
        /** Stopped before it ran. */
        QUEUED,
        /** Left a running execution that runs on for the other requests of its batch. */
        LEFT_BATCH,
        /**
         * Left a running execution as its last member: the execution is being terminated, and the worker answers the
         * request once ONNX Runtime has returned (so that its worker is free when the client hears).
         */
        TERMINATED
    }

    private final AtomicReference<Phase> phase = new AtomicReference<>(Phase.QUEUED);
    private final long submittedNanos = System.nanoTime();
    private volatile long startedNanos;
    private volatile Execution execution;
    private volatile Status stopReason;

    /** Joins {@code execution} and runs; false (and not joined) when the request was stopped while it waited. */
    boolean start(Execution execution) {
        startedNanos = System.nanoTime();
        execution.join();
        this.execution = execution;
        if (phase.compareAndSet(Phase.QUEUED, Phase.RUNNING)) {
            return true;
        }
        execution.leave(this); // not running yet: leaving terminates nothing
        return false;
    }

    /** Nanoseconds from submission to the start of its execution. */
    long sinceSubmitted() {
        return startedNanos - submittedNanos;
    }

    /** Finished by its execution; false when it was stopped first (and so already answered). */
    boolean finish() {
        return phase.compareAndSet(Phase.RUNNING, Phase.FINISHED);
    }

    boolean stopped() {
        return phase.get() == Phase.STOPPED;
    }

    /** Why it was stopped; null when it was not. */
    Status stopReason() {
        return stopReason;
    }

    /**
     * Stops the request with {@code reason} unless it already finished. The caller answers it for {@link Stop#QUEUED}
     * and {@link Stop#LEFT_BATCH}; for {@link Stop#TERMINATED} its worker does.
     */
    Stop stop(Status reason) {
        while (true) {
            Phase current = phase.get();
            if (current == Phase.FINISHED || current == Phase.STOPPED) {
                return Stop.NONE;
            }
            if (phase.compareAndSet(current, Phase.STOPPED)) {
                stopReason = reason; // before its execution can see it leave
                if (current == Phase.QUEUED) {
                    return Stop.QUEUED;
                }
                return execution.leave(this) ? Stop.TERMINATED : Stop.LEFT_BATCH;
            }
        }
    }
}
