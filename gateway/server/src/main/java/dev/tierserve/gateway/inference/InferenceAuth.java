package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.jobs.BearerToken;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Optional;
import java.util.Set;
import org.jboss.logging.Logger;

/**
 * Guards the inference service when {@code gateway.inference.token-file} is set: a call must carry
 * {@code authorization: Bearer <token>}, compared in constant time; otherwise UNAUTHENTICATED, counted, and the
 * presented value never logged. ServerLive and ServerReady stay open: Kubernetes' gRPC probes send no metadata.
 * Without a token file every call passes (the default, for a gateway reached only inside its cluster).
 */
@Startup // an unreadable or empty token file stops the gateway at start
@ApplicationScoped
public class InferenceAuth implements ServerInterceptor {

    private static final Logger LOG = Logger.getLogger(InferenceAuth.class);
    private static final Set<String> OPEN = Set.of(
            "inference.GRPCInferenceService/ServerLive", "inference.GRPCInferenceService/ServerReady");

    private final Optional<BearerToken> token;
    private final Counter refused;

    InferenceAuth(GatewayConfig config, MeterRegistry meters) {
        this.token = config.inference().tokenFile().map(BearerToken::read);
        this.refused = meters.counter("gateway.inference.refused", "reason", "unauthenticated");
        LOG.info(token.isPresent() ? "inference calls need the inference token"
                : "inference calls need no token (gateway.inference.token-file is not set)");
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        if (token.isEmpty() || OPEN.contains(call.getMethodDescriptor().getFullMethodName())
                || token.get().admits(headers.get(BearerToken.AUTHORIZATION))) {
            return next.startCall(call, headers);
        }
        refused.increment();
        call.close(Status.UNAUTHENTICATED.withDescription(headers.containsKey(BearerToken.AUTHORIZATION)
                ? "wrong inference token" : "inference calls need 'authorization: Bearer <token>'"), new Metadata());
        return new ServerCall.Listener<>() {
        };
    }
}
