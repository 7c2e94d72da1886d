package dev.tierserve.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.google.protobuf.ByteString;
import dev.tierserve.it.PackagedGateway.Packaging;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.store.S3ProxyServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Scale-out as deploy/ runs it, every part its own process on loopback: gateways of the remote packaging (no
 * compressor inside), {@code compressor serve} workers and one S3 server (s3proxy) as the single store. A variant
 * published into the bucket is served by both gateways without a restart; a canary set through one gateway applies at
 * the other, which routes each key to the same side; a tier asked at both gateways at once is one job and one variant,
 * and that job survives the death of the worker running it.
 */
class ScaleOutIT {

    private static final String BGE = "bge-small-en-v1.5";
    private static final String BGE_TEXT = "bge-small-en-v1.5-text";
    private static final String MINILM = MiniLmRepository.MODEL;
    private static final String MINILM_TEXT = MiniLmRepository.TEXT;
    private static final String BUCKET = "tierserve";
    private static final String PREFIX = "store";
    private static final String TOKEN = "it-scale-out-token-41c9";
    private static final ObjectMapper JSON = new ObjectMapper();
    /** How long a change may take to reach the other gateway before the test gives up (the bound is the watch interval). */
    private static final long PROPAGATION_LIMIT_SECONDS = 60;
    /** How long a small compression job may take on a slow CI machine (a limit, not a measurement). */
    private static final long JOB_LIMIT_SECONDS = 600;

    @TempDir
    Path home;

    @Test
    void twoGatewaysServeWhatIsPublishedToTheSharedStoreAndApplyEachOthersRollouts() throws Exception {
        try (S3ProxyServer s3proxy = new S3ProxyServer(home.resolve("s3proxy")).start();
             S3Client s3 = client(s3proxy)) {
            s3.createBucket(b -> b.bucket(BUCKET));
            Path tokenFile = Files.writeString(home.resolve("admin-token"), TOKEN);
            String[] settings = {"gateway.variants.store=s3://" + BUCKET + "/" + PREFIX,
                    "gateway.variants.s3.endpoint=" + s3proxy.endpoint(), "gateway.variants.watch-interval=1s",
                    "aws.accessKeyId=" + S3ProxyServer.IDENTITY, "aws.secretAccessKey=" + S3ProxyServer.CREDENTIAL,
                    "gateway.admin.token-file=" + tokenFile, "gateway.rollout.interval=1h",
                    "gateway.compressor.mode=off"};
            try (PackagedGateway first = PackagedGateway.start(Packaging.REMOTE, home.resolve("first"), settings);
                 PackagedGateway second = PackagedGateway.start(Packaging.REMOTE, home.resolve("second"), settings)) {
                PackagedClient one = new PackagedClient(first.grpcTarget());
                PackagedClient two = new PackagedClient(second.grpcTarget());
                assertTrue(infer(one, "k").contains("served tier exact"), "no variant yet: exact answers");

                Path parent = home.resolve("first/models").resolve(BGE).resolve("model.onnx");
                publish(s3, parent, "v1");
                awaitTrue(() -> infer(one, "k").contains("served tier 1.5x, variant v1"), "first serves v1");
                awaitTrue(() -> infer(two, "k").contains("served tier 1.5x, variant v1"), "second serves v1");

                String token = "--token-file=" + tokenFile;
                // v1 becomes the tier's stable variant in the store's tier table (a rollout needs one beside its canary).
                for (String[] step : List.of(new String[] {"canary", "--variant", "v1", "--weight", "0"},
                        new String[] {"promote", "--reason", "first variant"})) {
                    List<String> args = new ArrayList<>(List.of("rollout", token, step[0], "--model", BGE, "--tier",
                            "1.5x"));
                    args.addAll(List.of(step).subList(1, step.length));
                    PackagedClient.Run run = one.run(args.toArray(String[]::new));
                    assertEquals(0, run.exitCode(), run.toString());
                }
                publish(s3, parent, "v2");
                PackagedClient.Run canary = two.run("rollout", token, "canary", "--model", BGE, "--tier", "1.5x",
                        "--variant", "v2", "--weight", "0.5");
                assertEquals(0, canary.exitCode(), canary.toString());
                awaitTrue(() -> status(one, token).at("/state/canary").asText().equals("v2"),
                        "the canary set through the second gateway is the first's");
                assertEquals(0.5, status(one, token).at("/state/canaryWeight").asDouble(), 1e-9);
                int canaryKeys = 0;
                for (int key = 0; key < 8; key++) { // over gRPC: eight client processes a side add nothing here
                    boolean atFirst = onCanary(first, "user-" + key);
                    assertEquals(atFirst, onCanary(second, "user-" + key), "key user-" + key + " on the same side");
                    canaryKeys += atFirst ? 1 : 0;
                }
                assertTrue(canaryKeys > 0 && canaryKeys < 8, "a 50% canary got " + canaryKeys + " of 8 keys");

                PackagedClient.Run promote = one.run("rollout", token, "promote", "--model", BGE, "--tier", "1.5x",
                        "--reason", "scale-out test");
                assertEquals(0, promote.exitCode(), promote.toString());
                awaitTrue(() -> status(two, token).at("/state/stable").asText().equals("v2"),
                        "the promotion through the first gateway is the second's");
                assertTrue(first.logText().contains("s3://" + BUCKET + "/" + PREFIX), "the store in the log");
            }
        }
    }

    @Test
    void aTierAskedAtBothGatewaysAtOnceIsOneJobThatSurvivesTheDeathOfItsWorker() throws Exception {
        String store = "s3://" + BUCKET + "/" + PREFIX;
        List<PackagedWorker> workers = new ArrayList<>();
        List<PackagedGateway> gateways = new ArrayList<>();
        try (S3ProxyServer s3proxy = new S3ProxyServer(home.resolve("s3proxy")).start();
             S3Client s3 = client(s3proxy)) {
            s3.createBucket(b -> b.bucket(BUCKET));
            for (String name : List.of("a", "b")) {
                Path models = MiniLmRepository.create(home.resolve("worker-" + name + "-models"));
                workers.add(PackagedWorker.start(home.resolve("worker-" + name), models, s3proxy, store, 6));
            }
            for (int i = 0; i < 2; i++) {
                // Each gateway with its own worker, as two pods behind their own Service endpoints would be.
                Path models = MiniLmRepository.create(home.resolve("gateway-" + i + "-models"));
                gateways.add(PackagedGateway.start(Packaging.REMOTE, home.resolve("gateway-" + i),
                        "gateway.repository=" + models, "gateway.variants.store=" + store,
                        "gateway.variants.s3.endpoint=" + s3proxy.endpoint(), "gateway.variants.watch-interval=1s",
                        "aws.accessKeyId=" + S3ProxyServer.IDENTITY, "aws.secretAccessKey=" + S3ProxyServer.CREDENTIAL,
                        "gateway.compressor.mode=remote", "gateway.compressor.address=" + workers.get(i).address(),
                        "gateway.compressor.methods=trimllm", "gateway.compressor.precisions=float32", "gateway.compressor.calibration-texts=16",
                        "gateway.compressor.test-texts=20", "gateway.compressor.sequence=64"));
            }

            // Both gateways asked for the tier at the same moment: each answers with exact now and asks its worker.
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService callers = Executors.newFixedThreadPool(gateways.size());
            List<Future<PackagedClient.Run>> asked = new ArrayList<>();
            for (PackagedGateway gateway : gateways) {
                asked.add(callers.submit(() -> {
                    start.await();
                    return new PackagedClient(gateway.grpcTarget()).run("infer", "--model", MINILM_TEXT, "--tier",
                            "1.2x", "--text", "a sentence asked of both gateways");
                }));
            }
            start.countDown();
            for (Future<PackagedClient.Run> answer : asked) {
                PackagedClient.Run run = answer.get();
                assertEquals(0, run.exitCode(), run.toString());
                assertTrue(run.stdout().contains("served tier exact"), run.stdout());
                assertTrue(run.stdout().contains("degraded from tier 1.2x"), run.stdout());
            }
            callers.shutdown();
            awaitTrue(() -> gateways.stream().allMatch(g -> g.logText().contains("builds " + MINILM + " 1.2x")),
                    "both gateways have a job for the tier");
            List<String> jobIds = gateways.stream().map(g -> g.logText().lines()
                    .filter(line -> line.contains("builds " + MINILM + " 1.2x")).findFirst().orElseThrow()
                    .replaceAll(".*job (\\S+) builds.*", "$1")).distinct().toList();
            assertEquals(1, jobIds.size(), "one job for both gateways: " + jobIds);

            awaitTrue(() -> workers.stream().anyMatch(w -> w.logText().contains("TrimLLM step")), "the job runs",
                    JOB_LIMIT_SECONDS);
            int running = workers.get(0).logText().contains("TrimLLM step") ? 0 : 1;
            workers.get(running).kill();

            // The other worker takes the job over once the dead one's lease lapses, and both gateways serve its variant.
            for (PackagedGateway gateway : gateways) {
                awaitTrue(() -> new PackagedClient(gateway.grpcTarget()).run("infer", "--model", MINILM_TEXT, "--tier",
                        "1.2x", "--text", "a sentence asked of both gateways").stdout().contains("served tier 1.2x"),
                        "the variant served without a restart", JOB_LIMIT_SECONDS);
            }
            List<String> jobs = keys(s3, PREFIX + "/" + MINILM + "/jobs/");
            assertEquals(1, jobs.size(), "one job record: " + jobs);
            JsonNode job = JSON.readTree(s3.getObjectAsBytes(get -> get.bucket(BUCKET).key(jobs.get(0))).asByteArray());
            assertEquals("SUCCEEDED", job.path("state").asText(), job.toString());
            assertEquals(2, job.path("attempts").asInt(), "run again by the other worker: " + job);
            List<String> variants = keys(s3, PREFIX + "/" + MINILM + "/").stream()
                    .filter(key -> key.endsWith("/variant.json")).toList();
            assertEquals(1, variants.size(), "exactly one published variant: " + variants);
        } catch (Throwable failure) {
            for (PackagedWorker worker : workers) {
                System.err.println("---- worker\n" + worker.logText());
            }
            throw failure;
        } finally {
            gateways.forEach(PackagedGateway::close);
            workers.forEach(PackagedWorker::close);
        }
    }

    private static List<String> keys(S3Client s3, String prefix) {
        return s3.listObjectsV2Paginator(list -> list.bucket(BUCKET).prefix(prefix)).contents().stream()
                .map(S3Object::key).toList();
    }

    private static S3Client client(S3ProxyServer s3proxy) {
        return S3Client.builder().endpointOverride(s3proxy.endpoint()).forcePathStyle(true).region(Region.US_EAST_1)
                .httpClient(UrlConnectionHttpClient.create()).credentialsProvider(StaticCredentialsProvider.create(
                        AwsBasicCredentials.create(S3ProxyServer.IDENTITY, S3ProxyServer.CREDENTIAL))).build();
    }

    /** The first line of the client's answer for one routing key on tier 1.5x. */
    private static String infer(PackagedClient client, String routingKey) throws Exception {
        PackagedClient.Run run = client.run("infer", "--model", BGE_TEXT, "--tier", "1.5x", "--text",
                "a scale-out test sentence", "--routing-key", routingKey);
        assertEquals(0, run.exitCode(), run.toString());
        return run.stdout().lines().findFirst().orElse("");
    }

    /** Whether the gateway answers a 1.5x text request with this routing key from the tier's canary. */
    private static boolean onCanary(PackagedGateway gateway, String routingKey) {
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName(BGE_TEXT)
                .addInputs(InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES").addShape(1)
                        .setContents(InferTensorContents.newBuilder()
                                .addBytesContents(ByteString.copyFromUtf8("a scale-out test sentence"))))
                .putParameters("tier", InferParameter.newBuilder().setStringParam("1.5x").build())
                .putParameters("routing_key", InferParameter.newBuilder().setStringParam(routingKey).build())
                .build();
        ModelInferResponse response = gateway.stub().modelInfer(request);
        assertEquals("1.5x", response.getParametersOrThrow("tier").getStringParam());
        return response.getParametersOrDefault("canary", InferParameter.getDefaultInstance()).getBoolParam();
    }

    private static JsonNode status(PackagedClient client, String token) throws Exception {
        PackagedClient.Run run = client.run("rollout", token, "status", "--model", BGE, "--tier", "1.5x", "--json");
        assertEquals(0, run.exitCode(), run.toString());
        return JSON.readTree(run.stdout());
    }

    /** Publishes a copy of BGE-small as a variant of tier 1.5x, as a publisher does: model file first, manifest last. */
    private static void publish(S3Client s3, Path parent, String id) throws Exception {
        String dir = PREFIX + "/" + BGE + "/" + id + "/";
        s3.putObject(put -> put.bucket(BUCKET).key(dir + "model.onnx"), RequestBody.fromFile(parent));
        ObjectNode manifest = JSON.createObjectNode().put("id", id).put("parent", BGE).put("method", "copy")
                .put("targetSpeedup", 1.5).put("measuredSpeedup", 1.5).put("sha256", sha256(parent))
                .put("created", Instant.now().toString());
        manifest.putObject("quality").put("data", "fixture").putObject("encoder").put("meanCosine", 1.0);
        s3.putObject(put -> put.bucket(BUCKET).key(dir + "variant.json"), RequestBody.fromBytes(
                JSON.writeValueAsBytes(manifest)));
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    /** Polls until {@code check} holds; fails after {@link #PROPAGATION_LIMIT_SECONDS} (a limit, not a measurement). */
    private static void awaitTrue(Check check, String what) throws Exception {
        awaitTrue(check, what, PROPAGATION_LIMIT_SECONDS);
    }

    private static void awaitTrue(Check check, String what, long limitSeconds) throws Exception {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(limitSeconds);
        while (!check.holds()) {
            if (System.nanoTime() > until) {
                throw new AssertionError("not within " + limitSeconds + " s: " + what);
            }
            Thread.sleep(500);
        }
    }

    private static String sha256(Path file) throws Exception {
        try (InputStream in = new DigestInputStream(Files.newInputStream(file), MessageDigest.getInstance("SHA-256"))) {
            MessageDigest digest = ((DigestInputStream) in).getMessageDigest();
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return HexFormat.of().formatHex(digest.digest());
        }
    }
}
