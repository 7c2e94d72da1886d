package dev.tierserve.gateway.runtime;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * An open ONNX Runtime session shared by concurrent requests and closed only when nobody uses it.
 *
 * <p>The reference count starts at one, held by the cache. Each request takes a reference with {@link #tryAcquire()}
 * and gives it back through its {@link SessionLease}; eviction gives back the cache's reference with
 * {@link #retire()}. The native session is closed when the count reaches zero, so eviction never closes a session
 * a request is still running on, and a retired session can never be acquired again.
 */
public final class LoadedSession {

    private static final Logger LOG = Logger.getLogger(LoadedSession.class);

    private final String key;
    private final OrtSession session;
    private final long weightBytes;
    private final Map<String, NodeInfo> inputs;
    private final Map<String, NodeInfo> outputs;
    private final AtomicInteger references = new AtomicInteger(1);
    private final AtomicBoolean retired = new AtomicBoolean();
    private final Runnable onClose;

    /** @param onClose runs once, after the native session is closed */
    LoadedSession(String key, OrtSession session, long weightBytes, Runnable onClose) throws OrtException {
        this.key = key;
        this.session = session;
        this.weightBytes = weightBytes;
        this.onClose = onClose;
        this.inputs = session.getInputInfo();
        this.outputs = session.getOutputInfo();
    }

    public String key() {
        return key;
    }

    public OrtSession session() {
        return session;
    }

    /** Bytes of weights this session holds (its ONNX file size), the cache's weight. */
    public long weightBytes() {
        return weightBytes;
    }

    public Map<String, NodeInfo> inputs() {
        return inputs;
    }

    public Map<String, NodeInfo> outputs() {
        return outputs;
    }

    /** Requests holding this session right now. */
    public int activeLeases() {
        return Math.max(0, references.get() - 1);
    }

    /** Takes a reference unless the session is already retired and released. */
    boolean tryAcquire() {
        while (true) {
            int current = references.get();
            if (current == 0) {
                return false;
            }
            if (references.compareAndSet(current, current + 1)) {
                return true;
            }
        }
    }

    void release() {
        int remaining = references.decrementAndGet();
        if (remaining == 0) {
            try {
                session.close();
                LOG.debugf("closed session %s", key);
            } catch (OrtException e) {
                LOG.warnf(e, "closing session %s failed", key);
            } finally {
                onClose.run();
            }
        } else if (remaining < 0) {
            throw new IllegalStateException("session " + key + " released more often than acquired");
        }
    }

    /**
     * Gives back the cache's reference, once however often it is called: when the cache evicts or invalidates this
     * session, and at shutdown.
     */
    void retire() {
        if (retired.compareAndSet(false, true)) {
            release();
        }
    }
}
