package dev.tierserve.gateway.compression;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.jobs.BearerToken;
import dev.tierserve.proto.compressor.CompressorServiceGrpc;
import dev.tierserve.proto.compressor.GetJobRequest;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A compressor worker in its own process ({@code compressor serve}), over gRPC. */
public final class RemoteCompressor implements CompressorClient {

    private static final long CALL_SECONDS = 10;

    private final ManagedChannel channel;
    private final CompressorServiceGrpc.CompressorServiceFutureStub stub;

    /**
     * @param credentials plain text or TLS (see {@link #credentials})
     * @param token       the worker's bearer token, if it requires one
     */
    public RemoteCompressor(String address, ChannelCredentials credentials, Optional<BearerToken> token) {
        this.channel = Grpc.newChannelBuilder(address, credentials).build();
        CompressorServiceGrpc.CompressorServiceFutureStub plain = CompressorServiceGrpc.newFutureStub(channel);
        this.stub = token.map(t -> plain.withCallCredentials(t.callCredentials())).orElse(plain);
    }

    /**
     * Plain text without TLS settings; otherwise TLS that trusts only the configured CA (never the system's roots),
     * presenting the gateway's certificate when one is configured.
     *
     * @throws IllegalStateException for TLS settings without a CA, or a certificate without its key
     */
    public static ChannelCredentials credentials(GatewayConfig.Compressor.Tls tls) {
        if (tls.ca().isEmpty()) {
            if (tls.cert().isPresent() || tls.key().isPresent()) {
                throw new IllegalStateException("gateway.compressor.tls.cert and .key need gateway.compressor.tls.ca"
                        + " (the CA the worker's certificate is checked against)");
            }
            return InsecureChannelCredentials.create();
        }
        if (tls.cert().isPresent() != tls.key().isPresent()) {
            throw new IllegalStateException("gateway.compressor.tls.cert and gateway.compressor.tls.key go together");
        }
        try {
            TlsChannelCredentials.Builder builder = TlsChannelCredentials.newBuilder()
                    .trustManager(tls.ca().get().toFile());
            if (tls.cert().isPresent()) {
                builder.keyManager(tls.cert().get().toFile(), tls.key().get().toFile());
            }
            return builder.build();
        } catch (IOException | IllegalArgumentException e) {
            throw new IllegalStateException("cannot use the TLS files of gateway.compressor.tls: " + e.getMessage(), e);
        }
    }

    @Override
    public CompletableFuture<Job> submit(SubmitJobRequest request) {
        return complete(stub.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS).submitJob(request));
    }

    @Override
    public CompletableFuture<Job> job(String id) {
        return complete(stub.withDeadlineAfter(CALL_SECONDS, TimeUnit.SECONDS)
                .getJob(GetJobRequest.newBuilder().setJobId(id).build()));
    }

    private static <T> CompletableFuture<T> complete(ListenableFuture<T> call) {
        CompletableFuture<T> result = new CompletableFuture<>();
        Futures.addCallback(call, new FutureCallback<>() {
            @Override
            public void onSuccess(T value) {
                result.complete(value);
            }

            @Override
            public void onFailure(Throwable error) {
                result.completeExceptionally(error);
            }
        }, MoreExecutors.directExecutor());
        return result;
    }

    @Override
    public void close() {
        channel.shutdownNow();
    }
}
