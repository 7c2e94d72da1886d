package dev.tierserve.gateway.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.proto.inference.ModelConfig;
import dev.tierserve.store.EncoderQuality;
import dev.tierserve.store.TierChange;
import dev.tierserve.store.VariantManifest;
import dev.tierserve.store.VariantStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weighted, sticky canary routing over a real variant store: a tier's canary at 10% gets 10% ± 2% of 5,000 distinct
 * routing keys, each key always the same side, and raising the weight to 30% keeps every canary key on the canary.
 */
class StickyRoutingTest {

    private static final String MODEL = "m";
    private static final ModelEntry ENTRY = new ModelEntry(MODEL, Path.of(MODEL),
            ModelConfig.newBuilder().setName(MODEL).build(), ModelKind.ONNX);
    private static final int KEYS = 5_000;

    @TempDir
    Path root;

    private VariantStore store;
    private VariantCatalog catalog;
    private TierRouter router;

    @BeforeEach
    void publish() {
        store = VariantStore.filesystem(root);
        publish("stable");
        publish("candidate");
        store.updateTiers(MODEL, new TierChange.Stable("2x", "stable"));
        catalog = new VariantCatalog(store, List.of(MODEL), Duration.ofHours(1), new SimpleMeterRegistry());
        router = new TierRouter(catalog);
    }

    @AfterEach
    void close() {
        catalog.stop();
    }

    @Test
    void tenPercentOfKeysLandOnTheCanaryAlwaysTheSameAndRaisingTheWeightKeepsThem() {
        setWeight(0.10);
        Set<String> atTen = canaryKeys();
        assertTrue(Math.abs(atTen.size() - 0.10 * KEYS) <= 0.02 * KEYS, atTen.size() + " of " + KEYS);
        assertEquals(atTen, canaryKeys(), "the same keys, routed again");

        setWeight(0.30);
        Set<String> atThirty = canaryKeys();
        assertTrue(Math.abs(atThirty.size() - 0.30 * KEYS) <= 0.02 * KEYS, atThirty.size() + " of " + KEYS);
        assertTrue(atThirty.containsAll(atTen), "raising the weight moved a canary key back to stable");

        setWeight(0);
        assertTrue(canaryKeys().isEmpty());
    }

    @Test
    void exactAndPinnedRoutesHaveNoCanary() {
        setWeight(1);
        TierRoute tier = router.rollout(ENTRY, router.route(ENTRY, Tier.parse("2x"), "", false), "k");
        assertTrue(tier.canary());
        assertEquals("candidate", tier.variantId());
        TierRoute exact = router.rollout(ENTRY, router.route(ENTRY, Tier.EXACT, "", false), "k");
        assertFalse(exact.canary());
        assertEquals(TierRouter.PARENT_VARIANT, exact.variantId());
    }

    private void setWeight(double weight) {
        store.updateTiers(MODEL, new TierChange.Canary("2x", "candidate", weight, "test", "", "now"));
        catalog.refresh(MODEL);
    }

    private Set<String> canaryKeys() {
        Set<String> keys = new HashSet<>();
        TierRoute stable = router.route(ENTRY, Tier.parse("2x"), "", false);
        for (int i = 0; i < KEYS; i++) {
            String key = "user-" + i;
            TierRoute routed = router.rollout(ENTRY, stable, key);
            if (routed.canary()) {
                assertEquals("candidate", routed.variantId());
                keys.add(key);
            } else {
                assertEquals("stable", routed.variantId());
            }
        }
        return keys;
    }

    private void publish(String id) {
        ModelProto model = ModelProto.newBuilder().setIrVersion(8).setGraph(GraphProto.newBuilder().setName(id)).build();
        store.publish(MODEL, id, file -> Files.write(file, model.toByteArray()), sha -> new VariantManifest(id, MODEL, "parent-sha", "fixture",
                Map.of(), 2, 2, null,
                new VariantManifest.Quality("fixture", 1, new EncoderQuality(0.9, 0.9, 1, null, null), null),
                "", sha, "2026-11-30T00:00:00Z", false));
    }
}
