package dev.tierserve.it;

import dev.tierserve.proto.compressor.CompressorServiceGrpc;
import dev.tierserve.proto.compressor.GetJobRequest;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.stub.StreamObserver;
import java.io.IOException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A compressor worker that records every job submitted to it and answers submissions only once the test releases
 * them: it stands for a worker that is slow to answer, which must never hold up a gateway's gRPC threads.
 */
final class FakeCompressor extends CompressorServiceGrpc.CompressorServiceImplBase implements AutoCloseable {

    final BlockingQueue<SubmitJobRequest> submitted = new LinkedBlockingQueue<>();
    private final CountDownLatch release = new CountDownLatch(1);
    private final AtomicInteger ids = new AtomicInteger();
    private final Server server;

    FakeCompressor() throws IOException {
        this.server = Grpc.newServerBuilderForPort(0, InsecureServerCredentials.create()).addService(this).build().start();
    }

    String address() {
        return "127.0.0.1:" + server.getPort();
    }

    /** From now on, submissions are answered (those waiting, at once). */
    void release() {
        release.countDown();
    }

    @Override
    public void submitJob(SubmitJobRequest request, StreamObserver<Job> response) {
        submitted.add(request);
        Thread answer = new Thread(() -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                return;
            }
            response.onNext(Job.newBuilder().setId("job-fake-" + ids.incrementAndGet()).setRequest(request)
                    .setState(Job.State.RUNNING).setProgress("pretending").build());
            response.onCompleted();
        });
        answer.setDaemon(true);
        answer.start();
    }

    @Override
    public void getJob(GetJobRequest request, StreamObserver<Job> response) {
        response.onNext(Job.newBuilder().setId(request.getJobId()).setState(Job.State.RUNNING)
                .setProgress("pretending").build());
        response.onCompleted();
    }

    @Override
    public void close() throws InterruptedException {
        server.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
}
