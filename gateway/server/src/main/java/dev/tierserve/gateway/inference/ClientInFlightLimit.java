package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.config.GatewayConfig;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;

/**
 * At most {@code gateway.inference.max-in-flight-per-client} inference calls in flight per client address (the
 * peer's IP, whatever its port or connection); a call beyond it is RESOURCE_EXHAUSTED at once, so that one client
 * in a loop leaves room in the queue for the others. A client behind a proxy shares the proxy's address.
 */
@ApplicationScoped
public class ClientInFlightLimit implements ServerInterceptor {

    private final int limit;
    private final ConcurrentMap<String, Integer> inFlight = new ConcurrentHashMap<>();
    private final Counter refused;

    @Inject
    ClientInFlightLimit(GatewayConfig config, MeterRegistry meters) {
        this(config.inference().maxInFlightPerClient(), meters);
    }

    ClientInFlightLimit(int limit, MeterRegistry meters) {
        if (limit < 1) {
            throw new IllegalArgumentException("gateway.inference.max-in-flight-per-client must be at least 1, not "
                    + limit);
        }
        this.limit = limit;
        this.refused = meters.counter("gateway.inference.refused", "reason", "client_limit");
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        String client = client(call.getAttributes().get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR));
        if (!enter(client)) {
            refused.increment();
            call.close(Status.RESOURCE_EXHAUSTED.withDescription("this client already has " + limit
                    + " calls in flight (gateway.inference.max-in-flight-per-client); retry when some have ended"),
                    new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return CallEnd.startCall(call, headers, next, () -> exit(client));
    }

    /** Calls in flight for {@code client} (an address as {@link #client} names it); 0 when none. */
    int inFlight(String client) {
        return inFlight.getOrDefault(client, 0);
    }

    static String client(SocketAddress address) {
        return address instanceof InetSocketAddress inet && inet.getAddress() != null
                ? inet.getAddress().getHostAddress() : String.valueOf(address);
    }

    private boolean enter(String client) {
        boolean[] admitted = {false};
        inFlight.compute(client, (key, count) -> {
            int current = count == null ? 0 : count;
            admitted[0] = current < limit;
            return admitted[0] ? current + 1 : current;
        });
        return admitted[0];
    }

    private void exit(String client) {
        inFlight.computeIfPresent(client, (key, count) -> count > 1 ? count - 1 : null);
    }
}
