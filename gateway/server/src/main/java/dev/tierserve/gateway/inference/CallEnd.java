package dev.tierserve.gateway.inference;

import io.grpc.ForwardingServerCall;
import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import java.util.concurrent.atomic.AtomicBoolean;

/** Starts a call so that a counter's release runs exactly once when it ends: answered, cancelled, or failed to start. */
final class CallEnd {

    private CallEnd() {
    }

    static <Q, R> ServerCall.Listener<Q> startCall(ServerCall<Q, R> call, Metadata headers,
                                                   ServerCallHandler<Q, R> next, Runnable release) {
        AtomicBoolean ended = new AtomicBoolean();
        Runnable end = () -> {
            if (ended.compareAndSet(false, true)) {
                release.run();
            }
        };
        ServerCall<Q, R> watched = new ForwardingServerCall.SimpleForwardingServerCall<>(call) {
            @Override
            public void close(Status status, Metadata trailers) {
                try {
                    super.close(status, trailers);
                } finally {
                    end.run();
                }
            }
        };
        try {
            return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(next.startCall(watched, headers)) {
                @Override
                public void onCancel() {
                    try {
                        super.onCancel();
                    } finally {
                        end.run();
                    }
                }
            };
        } catch (RuntimeException e) {
            end.run();
            throw e;
        }
    }
}
