package dev.tierserve.compressor.worker;

import dev.tierserve.proto.compressor.CompressorServiceGrpc;
import dev.tierserve.proto.compressor.GetJobRequest;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.ListVariantsRequest;
import dev.tierserve.store.VariantStore;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.tierserve.compressor.worker.WorkerFixtures.MODEL;
import static dev.tierserve.compressor.worker.WorkerFixtures.await;
import static dev.tierserve.compressor.worker.WorkerFixtures.awaitServer;
import static dev.tierserve.compressor.worker.WorkerFixtures.freePort;
import static dev.tierserve.compressor.worker.WorkerFixtures.smallJob;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * {@code compressor serve} as its own process: killed (SIGKILL) in the middle of a job, then started again on the
 * same store, it takes the job over and the tier ends with exactly one published variant. An integration test (run
 * by failsafe after packaging) because it runs the packaged command-line jar, as an operator would.
 */
class WorkerRestartIT {

    @TempDir
    Path dir;

    @Test
    void aWorkerKilledMidJobIsReplacedAndTheTierGetsExactlyOneVariant() throws Exception {
        try {
            killAndRestart();
        } catch (Throwable failure) {
            for (String log : List.of("first.log", "second.log")) {
                if (Files.exists(dir.resolve(log))) {
                    System.err.println("---- " + log + "\n" + Files.readString(dir.resolve(log)));
                }
            }
            throw failure;
        }
    }

    private void killAndRestart() throws Exception {
        Path models = WorkerFixtures.models(dir.resolve("models"));
        Path store = dir.resolve("store");
        int port = freePort();
        Process first = serve(models, store, port, dir.resolve("first.log"));
        ManagedChannel channel = Grpc.newChannelBuilder("localhost:" + port, InsecureChannelCredentials.create()).build();
        try {
            CompressorServiceGrpc.CompressorServiceBlockingStub stub = CompressorServiceGrpc.newBlockingStub(channel);
            Job job = awaitServer(stub).submitJob(smallJob("1.2x"));
            GetJobRequest get = GetJobRequest.newBuilder().setJobId(job.getId()).build();
            // Kill it once the method is under way (its progress lines come from TrimLLM's steps).
            await(() -> stub.getJob(get), j -> j.getProgress().startsWith("TrimLLM step"), 300);
            first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            assertEquals(List.of(), VariantStore.filesystem(store).variants(MODEL), "nothing published by the killed worker");

            Process second = serve(models, store, port, dir.resolve("second.log"));
            try {
                Iterator<Job> watch = awaitServer(stub).watchJob(get);
                Job last = null;
                while (watch.hasNext()) {
                    last = watch.next();
                }
                assertEquals(Job.State.SUCCEEDED, last.getState(), last.toString());
                assertEquals(2, last.getAttempts(), "the second worker ran it again");
                List<?> variants = stub.listVariants(ListVariantsRequest.newBuilder().setModel(MODEL).build())
                        .getVariantsList();
                assertEquals(1, variants.size(), "exactly one published variant: " + variants);
                assertEquals(last.getTiers(0).getVariantId(),
                        VariantStore.filesystem(store).variants(MODEL).get(0).id());
                try (Stream<Path> entries = Files.list(store.resolve(MODEL))) {
                    assertEquals(0, entries.filter(p -> p.getFileName().toString().startsWith(".trimllm")).count(),
                            "no staging directory left");
                }
            } finally {
                second.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        } finally {
            channel.shutdownNow();
            first.destroyForcibly();
        }
    }

    private static Process serve(Path models, Path store, int port, Path log) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String jar = System.getProperty("compressor.jar", "target/tierserve-compressor.jar");
        return new ProcessBuilder(java.toString(), "-Xmx4g", "-jar", jar, "serve", "--port", String.valueOf(port),
                "--models", models.toString(), "--store", store.toString(), "--seq", "64")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }
}
