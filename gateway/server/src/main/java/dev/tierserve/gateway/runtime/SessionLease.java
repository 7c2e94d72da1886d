package dev.tierserve.gateway.runtime;

/** One request's reference to a {@link LoadedSession}; closing it gives the reference back. */
public final class SessionLease implements AutoCloseable {

    private final LoadedSession loaded;
    private boolean closed;

    SessionLease(LoadedSession loaded) {
        this.loaded = loaded;
    }

    public LoadedSession loaded() {
        if (closed) {
            throw new IllegalStateException("lease on " + loaded.key() + " already closed");
        }
        return loaded;
    }

    @Override
    public synchronized void close() {
        if (!closed) {
            closed = true;
            loaded.release();
        }
    }
}
