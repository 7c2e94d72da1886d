package dev.tierserve.compressor.worker;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.jobs.JobNotFoundException;
import dev.tierserve.proto.compressor.CompressorServiceGrpc;
import dev.tierserve.proto.compressor.GetJobRequest;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.ListJobsRequest;
import dev.tierserve.proto.compressor.ListJobsResponse;
import dev.tierserve.proto.compressor.ListVariantsRequest;
import dev.tierserve.proto.compressor.ListVariantsResponse;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import dev.tierserve.proto.compressor.Variant;
import dev.tierserve.store.StoreNames;
import dev.tierserve.store.StoredVariant;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;

import java.io.UncheckedIOException;

/** The worker's gRPC face ({@code compressor serve}): thin translation of {@link CompressionWorker} calls. */
public final class CompressorGrpcService extends CompressorServiceGrpc.CompressorServiceImplBase {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final CompressionWorker worker;

    public CompressorGrpcService(CompressionWorker worker) {
        this.worker = worker;
    }

    @Override
    public void submitJob(SubmitJobRequest request, StreamObserver<Job> response) {
        try {
            reply(response, worker.submit(request));
        } catch (IllegalArgumentException e) {
            response.onError(Status.INVALID_ARGUMENT.withDescription(e.getMessage()).asRuntimeException());
        } catch (IllegalStateException | UncheckedIOException e) {
            // The store is unreachable, or another worker's submission never ended: the caller may try again.
            response.onError(Status.UNAVAILABLE.withDescription(e.getMessage()).asRuntimeException());
        }
    }

    @Override
    public void getJob(GetJobRequest request, StreamObserver<Job> response) {
        worker.job(request.getJobId()).ifPresentOrElse(job -> reply(response, job),
                () -> response.onError(notFound(request.getJobId())));
    }

    @Override
    public void watchJob(GetJobRequest request, StreamObserver<Job> response) {
        ServerCallStreamObserver<Job> call = (ServerCallStreamObserver<Job>) response;
        AutoCloseable[] subscription = new AutoCloseable[1];
        call.setOnCancelHandler(() -> {
            synchronized (call) {
                if (subscription[0] != null) {
                    try {
                        subscription[0].close();
                    } catch (Exception ignored) {
                        // removing a listener does not fail
                    }
                }
            }
        });
        try {
            AutoCloseable watching = worker.watch(request.getJobId(), job -> {
                synchronized (call) {
                    if (call.isCancelled()) {
                        return;
                    }
                    call.onNext(job);
                    if (CompressionWorker.finished(job)) {
                        call.onCompleted();
                    }
                }
            });
            synchronized (call) {
                subscription[0] = watching;
            }
        } catch (JobNotFoundException e) {
            response.onError(notFound(request.getJobId()));
        }
    }

    @Override
    public void cancelJob(GetJobRequest request, StreamObserver<Job> response) {
        try {
            reply(response, worker.cancel(request.getJobId()));
        } catch (JobNotFoundException e) {
            response.onError(notFound(request.getJobId()));
        }
    }

    @Override
    public void listJobs(ListJobsRequest request, StreamObserver<ListJobsResponse> response) {
        reply(response, ListJobsResponse.newBuilder().addAllJobs(worker.jobs(request.getModel())).build());
    }

    @Override
    public void listVariants(ListVariantsRequest request, StreamObserver<ListVariantsResponse> response) {
        if (!StoreNames.valid(request.getModel())) {
            response.onError(invalidName(request.getModel()));
            return;
        }
        ListVariantsResponse.Builder list = ListVariantsResponse.newBuilder();
        for (StoredVariant v : worker.store().variants(request.getModel())) {
            try {
                list.addVariants(Variant.newBuilder().setModel(v.model()).setId(v.id()).setTier(v.tier())
                        .setMethod(v.manifest().method()).setMeasuredSpeedup(v.manifest().measuredSpeedup())
                        .setMeanCosine(Double.isNaN(v.meanCosine()) ? 0 : v.meanCosine())
                        .setManifestJson(JSON.writeValueAsString(v.manifest())));
            } catch (JsonProcessingException e) {
                response.onError(Status.INTERNAL.withDescription(e.getMessage()).asRuntimeException());
                return;
            }
        }
        reply(response, list.build());
    }

    /** NOT_FOUND for a job id that could exist, INVALID_ARGUMENT (its text cut short) for one that could not. */
    private static io.grpc.StatusRuntimeException notFound(String id) {
        if (!StoreNames.valid(id)) {
            return invalidName(id);
        }
        return Status.NOT_FOUND.withDescription("no job '" + id + "'").asRuntimeException();
    }

    private static io.grpc.StatusRuntimeException invalidName(String name) {
        return Status.INVALID_ARGUMENT.withDescription(StoreNames.whyInvalid(name)).asRuntimeException();
    }

    private static <T> void reply(StreamObserver<T> response, T value) {
        response.onNext(value);
        response.onCompleted();
    }
}
