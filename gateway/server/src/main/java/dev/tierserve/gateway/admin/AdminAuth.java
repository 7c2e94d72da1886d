package dev.tierserve.gateway.admin;

import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Guards the admin service: a call must carry {@code authorization: Bearer <token>} with the configured admin token.
 * No token presented: UNAUTHENTICATED; a wrong one: PERMISSION_DENIED; no token configured: every call is refused
 * (PERMISSION_DENIED), never let through. Refusals are counted by reason; the presented value is never logged.
 */
@ApplicationScoped
public class AdminAuth implements ServerInterceptor {

    static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String BEARER = "Bearer ";

    private final AdminToken token;
    private final MeterRegistry meters;

    AdminAuth(AdminToken token, MeterRegistry meters) {
        this.token = token;
        this.meters = meters;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        Status refused = check(headers.get(AUTHORIZATION));
        if (refused != null) {
            meters.counter("gateway.admin.refused", "reason", refused.getCode().name().toLowerCase()).increment();
            call.close(refused, new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }

    /** Why a call presenting {@code authorization} (null: none) is refused, or null when it may proceed. */
    Status check(String authorization) {
        if (!token.configured()) {
            return Status.PERMISSION_DENIED.withDescription("the admin API is disabled: the gateway has no admin "
                    + "token (set gateway.admin.token-file or GATEWAY_ADMIN_TOKEN_FILE)");
        }
        if (authorization == null || authorization.isBlank()) {
            return Status.UNAUTHENTICATED.withDescription("admin calls need 'authorization: Bearer <token>'");
        }
        if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            return Status.UNAUTHENTICATED.withDescription("the authorization metadata must be 'Bearer <token>'");
        }
        if (!token.matches(authorization.substring(BEARER.length()).strip())) {
            return Status.PERMISSION_DENIED.withDescription("wrong admin token");
        }
        return null;
    }
}
