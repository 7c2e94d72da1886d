package dev.tierserve.gateway.inference;

import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Counts the gRPC calls the gateway has accepted and not yet answered, and refuses new ones (UNAVAILABLE) once
 * {@link #stopAccepting}, so that a shutdown can finish what it accepted. Liveness, readiness and the gRPC health
 * service are always answered, so that probes see the gateway go not-ready instead of unreachable.
 */
@GlobalInterceptor
@ApplicationScoped
public class InFlightCalls implements ServerInterceptor {

    private static final Set<String> ALWAYS_ANSWERED = Set.of(
            "inference.GRPCInferenceService/ServerLive", "inference.GRPCInferenceService/ServerReady");

    private final Object lock = new Object();
    private int inFlight;
    private boolean draining;

    InFlightCalls(MeterRegistry meters) {
        meters.gauge("gateway.requests.in.flight", this, InFlightCalls::count);
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        MethodDescriptor<Q, R> method = call.getMethodDescriptor();
        if (ALWAYS_ANSWERED.contains(method.getFullMethodName()) || "grpc.health.v1.Health".equals(method.getServiceName())) {
            return next.startCall(call, headers);
        }
        if (!enter()) {
            call.close(Status.UNAVAILABLE.withDescription("the gateway is shutting down; retry on another replica"),
                    new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return CallEnd.startCall(call, headers, next, this::exit);
    }

    /** Calls accepted and not yet answered. */
    public int count() {
        synchronized (lock) {
            return inFlight;
        }
    }

    /** Refuses new calls from now on. */
    public void stopAccepting() {
        synchronized (lock) {
            draining = true;
        }
    }

    /**
     * Waits until the accepted calls are answered, at most {@code timeout}; call after {@link #stopAccepting()}.
     *
     * @return the calls still unanswered when it returned (0 when all finished)
     */
    public int awaitDrained(long timeout, TimeUnit unit) throws InterruptedException {
        long until = System.nanoTime() + unit.toNanos(timeout);
        synchronized (lock) {
            while (inFlight > 0) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(lock, left);
            }
            return inFlight;
        }
    }

    private boolean enter() {
        synchronized (lock) {
            if (draining) {
                return false;
            }
            inFlight++;
            return true;
        }
    }

    private void exit() {
        synchronized (lock) {
            inFlight--;
            if (inFlight == 0) {
                lock.notifyAll();
            }
        }
    }
}
