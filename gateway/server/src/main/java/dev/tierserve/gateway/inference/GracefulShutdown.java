package dev.tierserve.gateway.inference;

import io.quarkus.runtime.LaunchMode;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import sun.misc.Signal;

/**
 * SIGTERM (what Kubernetes sends) is an orderly stop: readiness goes NOT_SERVING, new calls are refused, the calls
 * already accepted finish within {@code quarkus.shutdown.timeout}, and the process exits 0. (The JVM's own SIGTERM
 * handling exits 143, which a platform reads as a crash.)
 */
@ApplicationScoped
class GracefulShutdown {

    private static final Logger LOG = Logger.getLogger(GracefulShutdown.class);

    private final InFlightCalls calls;
    private final Readiness readiness;
    private final Duration grace;

    GracefulShutdown(InFlightCalls calls, Readiness readiness,
                     @ConfigProperty(name = "quarkus.shutdown.timeout", defaultValue = "25s") Duration grace) {
        this.calls = calls;
        this.readiness = readiness;
        this.grace = grace;
    }

    void onStart(@Observes StartupEvent event) {
        if (LaunchMode.current() != LaunchMode.NORMAL) {
            return; // tests and dev mode keep the JVM's own handling, so that their runners can stop them
        }
        Signal.handle(new Signal("TERM"), signal -> {
            LOG.info("SIGTERM: stopping");
            Quarkus.asyncExit(0);
        });
    }

    /** Runs before the gRPC server and the beans stop. */
    void onStop(@Observes ShutdownEvent event) throws InterruptedException {
        calls.stopAccepting();
        readiness.stopServing(); // after: a client that sees not-ready knows new calls are refused
        int waiting = calls.count();
        LOG.infof("draining: %d call(s) in flight, waiting up to %d s", waiting, grace.toSeconds());
        int left = calls.awaitDrained(grace.toMillis(), TimeUnit.MILLISECONDS);
        if (left > 0) {
            LOG.warnf("%d call(s) still in flight after %d s; stopping anyway", left, grace.toSeconds());
        } else {
            LOG.infof("drained %d call(s)", waiting);
        }
    }
}
