package dev.tierserve.jobs;

import io.grpc.CallCredentials;
import io.grpc.Metadata;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.concurrent.Executor;

/**
 * The shared secret a compressor worker's callers present, {@code authorization: Bearer <token>}, read from a file
 * (surrounding whitespace ignored). Compared in constant time, and never printed: {@link #toString} hides it.
 */
public final class BearerToken {

    public static final Metadata.Key<String> AUTHORIZATION = Metadata.Key.of("authorization",
            Metadata.ASCII_STRING_MARSHALLER);

    private final String header;

    private BearerToken(String token) {
        this.header = "Bearer " + token;
    }

    /** @throws IllegalArgumentException for an empty or unreadable file, naming the file and not its content */
    public static BearerToken read(Path file) {
        String token;
        try {
            token = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the token file " + file + ": " + e.getMessage(), e);
        }
        if (token.isEmpty()) {
            throw new IllegalArgumentException("the token file " + file + " is empty");
        }
        if (!token.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
            throw new IllegalArgumentException("the token in " + file + " has characters a gRPC header cannot carry");
        }
        return new BearerToken(token);
    }

    /** Whether an {@code authorization} header value carries this token, in time independent of where they differ. */
    public boolean admits(String authorization) {
        return authorization != null && MessageDigest.isEqual(header.getBytes(StandardCharsets.US_ASCII),
                authorization.getBytes(StandardCharsets.US_ASCII));
    }

    /** Adds the token to every call of a stub. */
    public CallCredentials callCredentials() {
        return new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata metadata = new Metadata();
                metadata.put(AUTHORIZATION, header);
                applier.apply(metadata);
            }
        };
    }

    @Override
    public String toString() {
        return "BearerToken[hidden]";
    }
}
