package dev.tierserve.gateway.inference;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.RunOptions;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The life of one request on the inference executor: queued, running, then finished; or stopped early by its
 * deadline or by the client. A request stopped while queued never starts; one stopped while running has its
 * ONNX Runtime call terminated through {@link RunOptions#setTerminate(boolean)}.
 */
final class RunControl implements AutoCloseable {

    private enum Phase { QUEUED, RUNNING, FINISHED, STOPPED }

    private final AtomicReference<Phase> phase = new AtomicReference<>(Phase.QUEUED);
    private final RunOptions runOptions;
    private final long enqueuedNanos = System.nanoTime();
    private volatile long startedNanos;
    private volatile Status stopReason;

    RunControl() throws OrtException {
        this.runOptions = new RunOptions();
    }

    RunOptions runOptions() {
        return runOptions;
    }

    /** Moves from queued to running; false when the request was stopped while it waited. */
    boolean start() {
        startedNanos = System.nanoTime();
        return phase.compareAndSet(Phase.QUEUED, Phase.RUNNING);
    }

    /** Nanoseconds spent waiting for a worker. */
    long queueNanos() {
        return startedNanos - enqueuedNanos;
    }

    void finish() {
        phase.compareAndSet(Phase.RUNNING, Phase.FINISHED);
    }

    /**
     * Stops the request with {@code reason}. Returns true when it was still queued (the caller answers for it);
     * a running request is terminated and answers for itself when ONNX Runtime returns. Synchronized with
     * {@link #close()} so that the run options are never terminated after they were freed.
     */
    synchronized boolean stop(Status reason) {
        while (true) {
            Phase current = phase.get();
            if (current == Phase.FINISHED || current == Phase.STOPPED) {
                return false;
            }
            if (phase.compareAndSet(current, Phase.STOPPED)) {
                stopReason = reason;
                if (current == Phase.RUNNING) {
                    try {
                        runOptions.setTerminate(true);
                    } catch (OrtException e) {
                        throw new IllegalStateException("cannot terminate the running inference", e);
                    }
                    return false;
                }
                return true;
            }
        }
    }

    /** Why the request was stopped, or null when it was not. */
    Status stopReason() {
        return stopReason;
    }

    @Override
    public synchronized void close() {
        runOptions.close();
    }
}
