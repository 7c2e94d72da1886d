package dev.tierserve.compressor.worker;

import dev.tierserve.proto.compressor.CompressorServiceGrpc;
import dev.tierserve.proto.compressor.GetJobRequest;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.ListJobsRequest;
import dev.tierserve.proto.compressor.ListVariantsRequest;
import dev.tierserve.store.S3ProxyServer;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.tierserve.compressor.worker.WorkerFixtures.MODEL;
import static dev.tierserve.compressor.worker.WorkerFixtures.await;
import static dev.tierserve.compressor.worker.WorkerFixtures.awaitServer;
import static dev.tierserve.compressor.worker.WorkerFixtures.freePort;
import static dev.tierserve.compressor.worker.WorkerFixtures.smallJob;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Two {@code compressor serve} workers, as separate processes, sharing one S3 store (s3proxy, started by the test as
 * its own process): the same tier asked of both gives one job; the worker running it is killed (SIGKILL) mid-job, and
 * the other takes the job over once its lease lapses and publishes exactly one variant.
 */
class SharedStoreWorkersIT {

    private static final String STORE = "s3://variants/store";

    @TempDir
    Path dir;

    @Test
    void aJobAskedOfTwoWorkersRunsOnceAndSurvivesTheDeathOfItsWorker() throws Exception {
        Path models = WorkerFixtures.models(dir.resolve("models"));
        List<Process> workers = new ArrayList<>();
        List<ManagedChannel> channels = new ArrayList<>();
        try (S3ProxyServer s3proxy = new S3ProxyServer(dir.resolve("s3proxy")).start()) {
            try (S3Client s3 = S3Client.builder().endpointOverride(s3proxy.endpoint()).forcePathStyle(true)
                    .region(Region.US_EAST_1).httpClient(UrlConnectionHttpClient.create())
                    .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                            S3ProxyServer.IDENTITY, S3ProxyServer.CREDENTIAL))).build()) {
                s3.createBucket(b -> b.bucket("variants"));
            }
            List<CompressorServiceGrpc.CompressorServiceBlockingStub> stubs = new ArrayList<>();
            for (String name : List.of("a", "b")) {
                int port = freePort();
                workers.add(serve(models, s3proxy, port, name));
                ManagedChannel channel = Grpc.newChannelBuilder("localhost:" + port,
                        InsecureChannelCredentials.create()).build();
                channels.add(channel);
                stubs.add(awaitServer(CompressorServiceGrpc.newBlockingStub(channel)));
            }

            Job job = stubs.get(0).submitJob(smallJob("1.2x"));
            assertEquals(job.getId(), stubs.get(1).submitJob(smallJob("1.2x")).getId(), "one job for one tier");
            GetJobRequest get = GetJobRequest.newBuilder().setJobId(job.getId()).build();
            await(() -> stubs.get(0).getJob(get), j -> j.getProgress().startsWith("TrimLLM step"), 300);
            int running = log("a").contains("TrimLLM step") ? 0 : 1;
            int other = 1 - running;
            workers.get(running).destroyForcibly().waitFor(30, TimeUnit.SECONDS);

            Iterator<Job> watch = stubs.get(other).watchJob(get);
            Job last = null;
            while (watch.hasNext()) {
                last = watch.next();
            }
            assertEquals(Job.State.SUCCEEDED, last.getState(), last.toString());
            assertEquals(2, last.getAttempts(), "the other worker ran it again");
            assertEquals(1, stubs.get(other).listJobs(ListJobsRequest.getDefaultInstance()).getJobsCount());
            List<?> variants = stubs.get(other).listVariants(ListVariantsRequest.newBuilder().setModel(MODEL).build())
                    .getVariantsList();
            assertEquals(1, variants.size(), "exactly one published variant: " + variants);
        } catch (Throwable failure) {
            for (String name : List.of("a", "b")) {
                System.err.println("---- worker " + name + "\n" + log(name));
            }
            throw failure;
        } finally {
            channels.forEach(ManagedChannel::shutdownNow);
            for (Process worker : workers) {
                worker.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    private Process serve(Path models, S3ProxyServer s3proxy, int port, String name) throws IOException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        String jar = System.getProperty("compressor.jar", "target/tierserve-compressor.jar");
        ProcessBuilder worker = new ProcessBuilder(java.toString(), "-Xmx3g", "-jar", jar, "serve", "--port",
                String.valueOf(port), "--models", models.toString(), "--store", STORE, "--s3-endpoint",
                s3proxy.endpoint().toString(), "--lease-seconds", "6", "--work-dir", dir.resolve(name).toString(),
                "--cache-dir", dir.resolve(name + "-cache").toString(), "--seq", "64")
                .redirectErrorStream(true).redirectOutput(dir.resolve(name + ".log").toFile());
        worker.environment().put("AWS_ACCESS_KEY_ID", S3ProxyServer.IDENTITY);
        worker.environment().put("AWS_SECRET_ACCESS_KEY", S3ProxyServer.CREDENTIAL);
        return worker.start();
    }

    private String log(String name) {
        try {
            return Files.readString(dir.resolve(name + ".log"));
        } catch (IOException e) {
            return "";
        }
    }
}
