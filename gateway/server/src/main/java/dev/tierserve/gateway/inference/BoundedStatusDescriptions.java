package dev.tierserve.gateway.inference;

import io.grpc.ForwardingServerCall;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * Cuts every status description the gateway sends to {@link #MAX_CODE_POINTS}. Error messages quote what a client
 * sent (a model name, a version, an input's name), and a description longer than the client's limit on response
 * headers (8 KiB in grpc-java, after percent-encoding) turns a clean NOT_FOUND into a broken stream the client reports
 * as INTERNAL.
 */
@GlobalInterceptor
@ApplicationScoped
public class BoundedStatusDescriptions implements ServerInterceptor {

    /** Percent-encoded, a code point takes at most 12 bytes: 512 of them stay under 8 KiB with the rest of the trailers. */
    static final int MAX_CODE_POINTS = 512;

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        return next.startCall(new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                super.close(bounded(status), trailers);
            }
        }, headers);
    }

    static Status bounded(Status status) {
        String description = status.getDescription();
        if (description == null || description.codePointCount(0, description.length()) <= MAX_CODE_POINTS) {
            return status;
        }
        return status.withDescription(description.substring(0, description.offsetByCodePoints(0, MAX_CODE_POINTS))
                + "…");
    }
}
