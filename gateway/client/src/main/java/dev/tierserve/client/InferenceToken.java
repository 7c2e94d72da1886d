package dev.tierserve.client;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Adds {@code authorization: Bearer <token>} to the calls of the inference service, for a gateway that sets
 * {@code gateway.inference.token-file}. The admin calls keep their own token (rollout {@code --token-file}).
 */
final class InferenceToken implements ClientInterceptor {

    private static final Metadata.Key<String> AUTHORIZATION =
            Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER);
    private static final String SERVICE = "inference.GRPCInferenceService";

    private final String header;

    /** @throws IllegalArgumentException for an unreadable or empty file, naming the file and not its content */
    InferenceToken(Path file) {
        String token;
        try {
            token = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the inference token file " + file + ": " + e.getMessage());
        }
        if (token.isEmpty()) {
            throw new IllegalArgumentException("the inference token file " + file + " is empty");
        }
        this.header = "Bearer " + token;
    }

    @Override
    public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options, Channel next) {
        ClientCall<Q, R> call = next.newCall(method, options);
        if (!SERVICE.equals(method.getServiceName())) {
            return call;
        }
        return new ForwardingClientCall.SimpleForwardingClientCall<>(call) {
            @Override
            public void start(Listener<R> listener, Metadata headers) {
                headers.put(AUTHORIZATION, header);
                super.start(listener, headers);
            }
        };
    }
}
