package dev.tierserve.store;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.urlconnection.UrlConnectionHttpClient;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The S3 variant store against a real S3 API server (s3proxy, started by the test as its own process on loopback):
 * publish and load through separate clients and caches, checksums, the byte-bounded cache, tier changes from two
 * processes at once, and the server dying mid-publish.
 */
class S3VariantStoreTest {

    private static final String BUCKET = "variants";

    @TempDir
    static Path dir;

    private static S3ProxyServer server;

    private final TestModelFile model = TestModelFile.random(256 * 1024);
    private final String location = "s3://" + BUCKET + "/test-" + UUID.randomUUID().toString().substring(0, 8);

    @BeforeAll
    static void startServer() throws Exception {
        server = new S3ProxyServer(dir.resolve("s3proxy")).start();
        try (S3Client s3 = client(null)) {
            s3.createBucket(b -> b.bucket(BUCKET));
        }
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    @Test
    void aVariantPublishedThroughOneClientIsListedAndLoadedThroughAnotherWithItsChecksumVerified() {
        S3VariantStore publisher = store("publisher", 1L << 30, null);
        S3VariantStore reader = store("reader", 1L << 30, null);
        assertEquals(List.of(), reader.variants("tiny"));
        publisher.publish("tiny", "ziplm-2x-a", model, sha -> VariantStoreTest.manifest("ziplm-2x-a", 2.0, sha));

        List<StoredVariant> variants = reader.variants("tiny");
        assertEquals(List.of("ziplm-2x-a"), variants.stream().map(StoredVariant::id).toList());
        assertEquals(2.2, variants.get(0).manifest().measuredSpeedup());
        Path file = reader.verifiedModelFile(variants.get(0));
        assertTrue(file.startsWith(dir.resolve("reader")), file.toString());
        assertEquals(variants.get(0).manifest().sha256(), sha256(file));
        assertThrows(UncheckedIOException.class, () -> publisher.publish("tiny", "ziplm-2x-a", model,
                sha -> VariantStoreTest.manifest("ziplm-2x-a", 2.0, sha)), "a published variant is never replaced");
    }

    @Test
    void aCorruptedObjectIsRefusedAndNothingOfItStaysInTheCache() throws Exception {
        S3VariantStore store = store("corrupt", 1L << 30, null);
        store.publish("tiny", "v", model, sha -> VariantStoreTest.manifest("v", 1.5, sha));
        StoredVariant variant = store.variants("tiny").get(0);
        byte[] bytes = model.bytes().clone();
        bytes[bytes.length / 2] ^= 0x5a;
        try (S3Client s3 = client(null)) {
            s3.putObject(put -> put.bucket(BUCKET).key(prefixOf(location) + "/tiny/v/model.onnx"),
                    RequestBody.fromBytes(bytes));
        }
        CorruptVariantException refused = assertThrows(CorruptVariantException.class,
                () -> store.verifiedModelFile(variant));
        assertTrue(refused.getMessage().contains("fails its checksum"), refused.getMessage());
        assertFalse(Files.exists(dir.resolve("corrupt/cache/tiny/v/model.onnx")));
    }

    @Test
    void aVariantWithExternalDataIsUploadedAndDownloadedAsAPairAndVerifiedAsOne() throws Exception {
        S3VariantStore publisher = store("pair-publisher", 1L << 30, null);
        S3VariantStore reader = store("pair-reader", 1L << 30, null);
        TestModelFile pair = TestModelFile.randomWithData(4096, 64 * 1024);
        publisher.publish("tiny", "big", pair, sha -> VariantStoreTest.manifest("big", 2.0, sha));

        Path file = reader.verifiedModelFile(reader.variant("tiny", "big").orElseThrow());
        assertArrayEquals(pair.bytes(), Files.readAllBytes(file));
        assertArrayEquals(pair.data(), Files.readAllBytes(file.resolveSibling(StoredVariant.DATA_FILE)));
        assertEquals(64 * 1024 + 4096, new VariantCache(dir.resolve("pair-reader/cache"), 1).bytes(),
                "the data counts against the cache's bound");

        // Only the data object corrupted: the variant is refused, and nothing of it stays in the cache.
        byte[] data = pair.data().clone();
        data[data.length / 2] ^= 0x5a;
        try (S3Client s3 = client(null)) {
            s3.putObject(put -> put.bucket(BUCKET).key(prefixOf(location) + "/tiny/big/model.onnx.data"),
                    RequestBody.fromBytes(data));
        }
        S3VariantStore fresh = store("pair-fresh", 1L << 30, null);
        StoredVariant variant = fresh.variant("tiny", "big").orElseThrow();
        assertThrows(CorruptVariantException.class, () -> fresh.verifiedModelFile(variant));
        assertFalse(Files.exists(dir.resolve("pair-fresh/cache/tiny/big")));
    }

    @Test
    void theCacheKeepsItsByteBoundByDroppingTheLeastRecentlyUsedFile() {
        long size = model.bytes().length;
        S3VariantStore store = store("bounded", size * 2 + size / 2, null);
        for (String id : List.of("a", "b", "c")) {
            store.publish("tiny", id, model, sha -> VariantStoreTest.manifest(id, 1.5, sha));
        }
        store.verifiedModelFile(store.variant("tiny", "a").orElseThrow());
        store.verifiedModelFile(store.variant("tiny", "b").orElseThrow());
        store.verifiedModelFile(store.variant("tiny", "a").orElseThrow()); // a is now more recent than b
        store.verifiedModelFile(store.variant("tiny", "c").orElseThrow());
        Path cache = dir.resolve("bounded/cache/tiny");
        assertTrue(Files.exists(cache.resolve("a/model.onnx")));
        assertFalse(Files.exists(cache.resolve("b/model.onnx")), "the least recently used file goes");
        assertTrue(Files.exists(cache.resolve("c/model.onnx")));
    }

    @Test
    void twoProcessesChangingTiersAtOnceLoseNothing() throws Exception {
        S3VariantStore store = store("tiers", 1L << 30, null);
        store.updateTiers("tiny", new TierChange.Stable("2x", "a"));
        int each = 150;
        List<Process> writers = new ArrayList<>();
        for (String name : List.of("first", "second")) {
            ProcessBuilder writer = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), TierChangeWriter.class.getName(),
                    server.endpoint().toString(), location, "tiny", name, String.valueOf(each),
                    dir.resolve("writer-" + name).toString())
                    .redirectErrorStream(true).redirectOutput(dir.resolve("writer-" + writers.size() + ".log").toFile());
            // The credentials as a deployment passes them: the AWS SDK's environment variables.
            writer.environment().put("AWS_ACCESS_KEY_ID", S3ProxyServer.IDENTITY);
            writer.environment().put("AWS_SECRET_ACCESS_KEY", S3ProxyServer.CREDENTIAL);
            writers.add(writer.start());
        }
        for (Process writer : writers) {
            int exit = writer.waitFor();
            assertEquals(0, exit, () -> "a writer failed: " + read(dir.resolve("writer-" + writers.indexOf(writer)
                    + ".log")));
        }
        TierTable table = store.tiers("tiny");
        Set<String> reasons = table.history().stream().map(RolloutEvent::reason).collect(Collectors.toSet());
        for (String name : List.of("first", "second")) {
            for (int i = 0; i < each; i++) {
                assertTrue(reasons.contains(name + "-" + i), "lost: " + name + "-" + i);
            }
        }
        assertEquals(2 * each, table.history().size());
        assertEquals("a", table.get("2x").stable());
    }

    @Test
    void aChangeWhosePreconditionFailsIsRefusedAndNotWritten() {
        S3VariantStore store = store("refused", 1L << 30, null);
        store.updateTiers("tiny", new TierChange.Stable("2x", "a"));
        RejectedTierChange refused = assertThrows(RejectedTierChange.class, () -> store.updateTiers("tiny",
                new TierChange.End("2x", null, RolloutAction.PROMOTE, "admin", "", java.util.Map.of(), "now")));
        assertEquals(RejectedTierChange.Reason.NO_CANARY, refused.reason());
        store.updateTiers("tiny", new TierChange.Canary("2x", "b", 0.3, "admin", "", "now"));
        TierTable table = store(("refused-reader"), 1L << 30, null).tiers("tiny");
        assertEquals("b", table.get("2x").canary());
        assertEquals(0.3, table.get("2x").canaryWeight());
        assertEquals(1, table.history().size());
    }

    @Test
    void theServerDyingMidPublishLeavesNoVisibleVariantAndTheStoreRecoversWhenItReturns() throws Exception {
        for (String dieBefore : List.of("model.onnx", "variant.json")) {
            AtomicBoolean killed = new AtomicBoolean();
            S3VariantStore store = store("dying-" + dieBefore, 1L << 30, key -> key.endsWith("/" + dieBefore)
                    && killed.compareAndSet(false, true));
            String id = "v-" + dieBefore.replace('.', '-');
            assertThrows(UncheckedIOException.class, () -> store.publish("tiny", id, model,
                    sha -> VariantStoreTest.manifest(id, 1.5, sha)));
            server.start();
            assertTrue(killed.get(), "the server was killed just before " + dieBefore);
            assertTrue(store.variant("tiny", id).isEmpty(), "half a variant is visible after dying before "
                    + dieBefore);
            store.publish("tiny", id, model, sha -> VariantStoreTest.manifest(id, 1.5, sha));
            assertEquals(sha256(store.verifiedModelFile(store.variant("tiny", id).orElseThrow())),
                    store.variant("tiny", id).orElseThrow().manifest().sha256());
        }
    }

    // ---- helpers ---------------------------------------------------------------------------------------------

    /** A store with its own client and cache; {@code killBefore} kills the server before a matching PUT is sent. */
    private S3VariantStore store(String name, long cacheBytes, Predicate<String> killBefore) {
        Path work = dir.resolve(name);
        return new S3VariantStore(client(killBefore), BUCKET, prefixOf(location),
                new VariantCache(work.resolve("cache"), cacheBytes), work);
    }

    private static S3Client client(Predicate<String> killBefore) {
        var builder = S3Client.builder().endpointOverride(server.endpoint()).forcePathStyle(true)
                .region(Region.US_EAST_1).httpClient(UrlConnectionHttpClient.create())
                .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create(
                        S3ProxyServer.IDENTITY, S3ProxyServer.CREDENTIAL)));
        if (killBefore != null) {
            builder.overrideConfiguration(c -> c.addExecutionInterceptor(new ExecutionInterceptor() {
                @Override
                public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
                    if (context.request() instanceof PutObjectRequest put && killBefore.test(put.key())) {
                        server.kill();
                    }
                }
            }));
        }
        return builder.build();
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (java.io.IOException e) {
            return e.toString();
        }
    }

    private static String prefixOf(String location) {
        return location.substring(("s3://" + BUCKET + "/").length());
    }

    private static String sha256(Path file) {
        try {
            return VariantPublisher.sha256(file);
        } catch (java.io.IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
