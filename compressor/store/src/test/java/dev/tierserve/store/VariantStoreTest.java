package dev.tierserve.store;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class VariantStoreTest {

    @TempDir
    Path root;

    private final TestModelFile model = TestModelFile.random(256 * 1024);

    @Test
    void listsPublishedVariantsWithTheirManifestsAndNothingHalfWritten() throws Exception {
        FileVariantStore store = VariantStore.filesystem(root);
        assertEquals(List.of(), store.variants("tiny"));
        store.publish("tiny", "ziplm-2x-a", model, sha -> manifest("ziplm-2x-a", 2.0, sha));
        // What a publisher killed mid-write leaves: a staging directory and a job folder, neither a variant.
        Files.createDirectories(root.resolve("tiny/.ziplm-3x-b-123"));
        Files.writeString(root.resolve("tiny/.ziplm-3x-b-123/model.onnx"), "partial");
        Files.createDirectories(root.resolve("tiny/jobs"));

        List<StoredVariant> variants = store.variants("tiny");
        assertEquals(1, variants.size());
        StoredVariant variant = variants.get(0);
        assertEquals("ziplm-2x-a", variant.id());
        assertEquals("2x", variant.tier());
        assertEquals(2.2, variant.manifest().measuredSpeedup());
        assertEquals(0.95, variant.meanCosine());
        assertEquals(RuntimeSettings.cpu(1, 1, 16), variant.manifest().latency().runtime());
        assertEquals(store.modelFile(variant), store.verifiedModelFile(variant));

        assertEquals(1, store.removeAbandonedStaging("tiny", 0));
        assertTrue(Files.notExists(root.resolve("tiny/.ziplm-3x-b-123")));
    }

    @Test
    void aVariantWhoseFileNoLongerMatchesItsChecksumIsRefused() throws Exception {
        FileVariantStore store = VariantStore.filesystem(root);
        store.publish("tiny", "v", model, sha -> manifest("v", 1.5, sha));
        StoredVariant variant = store.variants("tiny").get(0);
        byte[] bytes = Files.readAllBytes(store.modelFile(variant));
        bytes[bytes.length / 2] ^= 1;
        Files.write(store.modelFile(variant), bytes);
        CorruptVariantException error = assertThrows(CorruptVariantException.class, () -> store.verifiedModelFile(variant));
        assertTrue(error.getMessage().contains("checksum"), error.getMessage());
        Files.delete(store.modelFile(variant));
        assertThrows(CorruptVariantException.class, () -> store.verifiedModelFile(variant));
    }

    @Test
    void aVariantWithExternalDataIsPublishedAndVerifiedAsAPair() throws Exception {
        FileVariantStore store = VariantStore.filesystem(root);
        TestModelFile pair = TestModelFile.randomWithData(4096, 64 * 1024);
        store.publish("tiny", "big", pair, sha -> manifest("big", 2.0, sha));
        StoredVariant variant = store.variant("tiny", "big").orElseThrow();
        Path file = store.verifiedModelFile(variant);
        assertArrayEquals(pair.data(), Files.readAllBytes(file.resolveSibling(StoredVariant.DATA_FILE)));
        assertEquals(VariantPublisher.variantSha256(file), variant.manifest().sha256());
        assertNotEquals(VariantPublisher.sha256(file), variant.manifest().sha256(), "the checksum covers the data");

        byte[] data = pair.data().clone();
        data[data.length / 2] ^= 1;
        Files.write(file.resolveSibling(StoredVariant.DATA_FILE), data);
        assertThrows(CorruptVariantException.class, () -> store.verifiedModelFile(variant));
    }

    @Test
    void concurrentTierUpdatesAreNotLost() throws Exception {
        FileVariantStore store = VariantStore.filesystem(root);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> updates = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            String tier = (i + 2) + "x";
            updates.add(pool.submit(() -> store.updateTiers("tiny", new TierChange.Stable(tier, "variant-" + tier))));
        }
        for (Future<?> update : updates) {
            update.get();
        }
        pool.shutdown();
        TierTable table = store.tiers("tiny");
        assertEquals(40, table.tiers().size());
        assertEquals("variant-7x", table.get("7x").stable());
        assertEquals(table, VariantStore.filesystem(root).tiers("tiny"), "re-read from disk");
    }

    @Test
    void aDiskFullWhilePublishingLeavesNoVariantAndNoStagingAndTheSameIdPublishesLater() throws Exception {
        FileVariantStore store = VariantStore.filesystem(root);
        ModelFileWriter fillsTheDisk = file -> {
            Files.write(file, new byte[64 * 1024]);
            throw new IOException("No space left on device");
        };
        UncheckedIOException error = assertThrows(UncheckedIOException.class,
                () -> store.publish("tiny", "v", fillsTheDisk, sha -> manifest("v", 1.5, sha)));
        assertTrue(error.getMessage().contains("cannot publish") && error.getMessage().contains("No space left"),
                error.getMessage());
        assertEquals(List.of(), store.variants("tiny"));
        try (var left = Files.list(root.resolve("tiny"))) {
            assertEquals(List.of(), left.toList(), "what was written is removed at once, not at the next clean-up");
        }
        store.publish("tiny", "v", model, sha -> manifest("v", 1.5, sha));
        assertEquals(List.of("v"), store.variants("tiny").stream().map(StoredVariant::id).toList());
    }

    @Test
    void namesThatCouldLeaveTheStoreAreRefusedBeforeAnyPathIsMade() {
        FileVariantStore store = VariantStore.filesystem(root.resolve("store"));
        for (String name : new String[] {"..", "../outside", "a/b", "/etc", ".hidden", "", "a\\b", "x".repeat(129),
                "a\u0000b"}) {
            assertThrows(IllegalArgumentException.class, () -> store.variants(name), name);
            assertThrows(IllegalArgumentException.class,
                    () -> store.publish(name, "v", model, sha -> manifest("v", 1.5, sha)), name);
            assertThrows(IllegalArgumentException.class,
                    () -> store.publish("tiny", name, model, sha -> manifest(name, 1.5, sha)), name);
            assertThrows(IllegalArgumentException.class, () -> store.jobs().tryAcquire(name, "submit"), name);
        }
        assertTrue(Files.notExists(root.resolve("outside")));
        assertTrue(StoreNames.valid("bge-small-en-v1.5") && StoreNames.valid("ziplm-2x-1a2b_c"));
    }

    @Test
    void tierNamesRoundTrip() {
        assertEquals("1.5x", TierNames.format(1.5));
        assertEquals("2x", TierNames.format(2.0));
        assertEquals(2.0, TierNames.parse(" 2X "));
        assertThrows(IllegalArgumentException.class, () -> TierNames.parse("1x"));
        assertThrows(IllegalArgumentException.class, () -> TierNames.parse("fast"));
    }

    static VariantManifest manifest(String id, double target, String sha) {
        return new VariantManifest(id, "tiny", "parent-sha", "ziplm", Map.of("calibrationTexts", 8), target,
                target + 0.2, new VariantManifest.Latency(10, 4.5, RuntimeSettings.cpu(1, 1, 16), 5, 20),
                new VariantManifest.Quality("brown", 20, new EncoderQuality(0.95, 0.9, 0.8, null, null), null),
                "test", sha, "2026-11-23T00:00:00Z", true);
    }
}
