package dev.tierserve.gateway.compression;

import com.google.common.util.concurrent.FutureCallback;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.tierserve.proto.compressor.CompressorServiceGrpc;
import dev.tierserve.proto.compressor.GetJobRequest;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/** A compressor worker in its own process ({@code compressor serve}), over gRPC. */
public final class RemoteCompressor implements CompressorClient {

    private static final long CALL_SECONDS = 10;

    private final ManagedChannel channel;
    private final CompressorServiceGrpc.CompressorServiceFutureStub stub;

    public RemoteCompressor(String address) {
        this.channel = Grpc.newChannelBuilder(address, InsecureChannelCredentials.create()).build();
        this.stub = CompressorServiceGrpc.newFutureStub(channel);
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
