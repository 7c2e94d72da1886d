package dev.tierserve.compressor.worker;

import dev.tierserve.jobs.BearerToken;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;

/** Refuses every call to the worker that does not carry its bearer token: UNAUTHENTICATED, before any work. */
public final class TokenCheck implements ServerInterceptor {

    private final BearerToken token;

    public TokenCheck(BearerToken token) {
        this.token = token;
    }

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                      ServerCallHandler<Q, R> next) {
        if (!token.admits(headers.get(BearerToken.AUTHORIZATION))) {
            call.close(Status.UNAUTHENTICATED.withDescription("this compressor worker needs its bearer token"),
                    new Metadata());
            return new ServerCall.Listener<>() {
            };
        }
        return next.startCall(call, headers);
    }
}
