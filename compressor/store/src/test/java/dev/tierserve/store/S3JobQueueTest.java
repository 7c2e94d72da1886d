package dev.tierserve.store;

import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Job records and leases in an S3 store (s3proxy as its own process): what several workers share. */
class S3JobQueueTest {

    private static final String BUCKET = "jobs";

    @TempDir
    static Path dir;

    private static S3ProxyServer server;

    @BeforeAll
    static void startServer() throws Exception {
        server = new S3ProxyServer(dir.resolve("s3proxy")).start();
        try (S3Client s3 = client()) {
            s3.createBucket(b -> b.bucket(BUCKET));
        }
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void ofWorkersClaimingOneLeaseAtOnceExactlyOneHoldsIt() throws Exception {
        List<JobQueue> workers = List.of(queue("a"), queue("b"), queue("c"));
        ExecutorService pool = Executors.newFixedThreadPool(workers.size());
        try {
            for (int round = 0; round < 4; round++) {
                String lease = "tier-" + round + "x";
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Optional<JobQueue.Lease>>> claims = new ArrayList<>();
                for (JobQueue worker : workers) {
                    claims.add(pool.submit(() -> {
                        start.await();
                        return worker.tryAcquire("minilm", lease);
                    }));
                }
                start.countDown();
                int holders = 0;
                for (Future<Optional<JobQueue.Lease>> claim : claims) {
                    holders += claim.get().isPresent() ? 1 : 0;
                }
                assertEquals(1, holders, "round " + round + ": one holder of " + lease);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aHeldLeaseIsRenewedPastItsTimeAndAReleasedOneIsFreeAgain() throws Exception {
        JobQueue first = queue("first", Duration.ofSeconds(3));
        JobQueue second = queue("second", Duration.ofSeconds(3));
        JobQueue.Lease lease = first.tryAcquire("minilm", "job-x").orElseThrow();
        assertTrue(second.tryAcquire("minilm", "job-x").isEmpty());
        // Renewals come every second: five claims by the holder take it past the first claim's 3 s.
        try (S3Client s3 = client()) {
            while (s3.listObjectsV2(list -> list.bucket(BUCKET).prefix("store/minilm/leases/job-x/")).contents()
                    .stream().filter(o -> o.key().contains(holder(first))).count() < 5) {
                Thread.sleep(100);
            }
        }
        assertTrue(lease.held());
        assertTrue(second.tryAcquire("minilm", "job-x").isEmpty(), "a renewed lease is not taken over");
        lease.close();
        assertTrue(second.tryAcquire("minilm", "job-x").isPresent(), "released: free for the next worker");
    }

    @Test
    void jobRecordsWrittenByOneWorkerAreReadByAnother() {
        JobQueue first = queue("writer");
        Job job = Job.newBuilder().setId("job-1234").setState(Job.State.RUNNING).setCreated("2026-11-30T00:00:00Z")
                .setRequest(SubmitJobRequest.newBuilder().setModel("minilm").addTiers("2x")).build();
        first.save(job);
        assertEquals(Optional.of(job), queue("reader").find("job-1234"));
        first.save(job.toBuilder().setState(Job.State.SUCCEEDED).build());
        assertEquals(Job.State.SUCCEEDED, queue("reader").find("job-1234").orElseThrow().getState());
    }

    private static JobQueue queue(String name) {
        return queue(name, Duration.ofSeconds(2));
    }

    private static JobQueue queue(String name, Duration ttl) {
        Path work = dir.resolve(name);
        return new S3VariantStore(client(), BUCKET, "store", new VariantCache(work.resolve("cache"), 1L << 30), work,
                ttl, Duration.ofMillis(300)).jobs();
    }

    private static String holder(JobQueue queue) {
        return ((S3JobQueue) queue).worker();
    }

    private static S3Client client() {
        return S3Client.builder().endpointOverride(server.endpoint()).forcePathStyle(true).region(Region.US_EAST_1)
                .httpClient(UrlConnectionHttpClient.create()).credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(S3ProxyServer.IDENTITY, S3ProxyServer.CREDENTIAL))).build();
    }
}
