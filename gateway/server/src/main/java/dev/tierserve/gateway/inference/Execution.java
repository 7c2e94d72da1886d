package dev.tierserve.gateway.inference;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.RunOptions;

/**
 * One ONNX Runtime call, shared by the requests of a batch (one request, without batching). A member that stops
 * (its deadline, or its client gone) leaves; when the last member leaves a running call, the call itself is terminated
 * through its run options. Synchronized so that the run options are never terminated after they were freed.
 */
final class Execution implements AutoCloseable {

    private final RunOptions runOptions;
    private int members;
    private Object terminator;
    private boolean running;
    private boolean closed;

    Execution() throws OrtException {
        this.runOptions = new RunOptions();
    }

    RunOptions runOptions() {
        return runOptions;
    }

    synchronized void join() {
        members++;
    }

    /** {@code member} left; true when it was the last one and the running call has been terminated for it. */
    synchronized boolean leave(Object member) {
        members--;
        if (members == 0 && running && terminator == null && !closed) {
            terminator = member;
            try {
                runOptions.setTerminate(true);
            } catch (OrtException e) {
                throw new IllegalStateException("cannot terminate the running inference", e);
            }
        }
        return terminator == member;
    }

    /** The call starts; false when every member has already left, so there is nothing to run. */
    synchronized boolean begin() {
        running = members > 0;
        return running;
    }

    /**
     * The call has returned: a member leaving from now on terminates nothing (it is answered by whoever stops it,
     * and its worker no longer answers for it).
     */
    synchronized void end() {
        running = false;
    }

    /**
     * The member whose leaving terminated the call, or null: every member left while it ran, and the call's failure
     * is its termination. Known as soon as the call can have returned terminated.
     */
    synchronized Object terminator() {
        return terminator;
    }

    @Override
    public synchronized void close() {
        closed = true;
        runOptions.close();
    }
}
