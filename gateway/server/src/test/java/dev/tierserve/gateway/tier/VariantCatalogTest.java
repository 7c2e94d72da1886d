package dev.tierserve.gateway.tier;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.proto.inference.ModelConfig;
import dev.tierserve.store.EncoderQuality;
import dev.tierserve.store.VariantManifest;
import dev.tierserve.store.VariantStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The store's directory moved away for a while (an unmounted volume, an operator's mistake): while it is gone the
 * tier answers from {@code exact}, marked {@code degraded_from}, with no error; once it is back, so is the tier.
 */
class VariantCatalogTest {

    private static final String MODEL = "m";
    private static final ModelEntry ENTRY = new ModelEntry(MODEL, Path.of(MODEL),
            ModelConfig.newBuilder().setName(MODEL).build(), ModelKind.ONNX);

    @TempDir
    Path dir;

    @Test
    void aStoreBrieflyMissingDegradesItsTiersAndTheyReturnWithIt() throws Exception {
        Path root = dir.resolve("variants");
        VariantStore store = VariantStore.filesystem(root);
        store.publish(MODEL, "v", file -> Files.write(file, new byte[] {1, 2, 3}), sha -> new VariantManifest("v",
                MODEL, "parent-sha", "fixture", Map.of(), 2, 2, null,
                new VariantManifest.Quality("fixture", 1, new EncoderQuality(0.9, 0.9, 1, null, null), null),
                "", sha, "2026-12-01T00:00:00Z", false));
        VariantCatalog catalog = new VariantCatalog(store, List.of(MODEL), Duration.ofHours(1),
                new SimpleMeterRegistry());
        try {
            TierRouter router = new TierRouter(catalog);
            assertEquals("v", router.route(ENTRY, Tier.parse("2x"), "", false).variantId());

            Path away = Files.move(root, dir.resolve("variants-away"));
            assertEquals(List.of(), catalog.refresh(MODEL).readyTiers());
            TierRoute degraded = router.route(ENTRY, Tier.parse("2x"), "", false);
            assertEquals(Tier.EXACT, degraded.served());
            assertEquals("2x", degraded.degradedFrom());

            Files.move(away, root);
            assertEquals(List.of("2x"), catalog.refresh(MODEL).readyTiers());
            assertEquals("v", router.route(ENTRY, Tier.parse("2x"), "", false).variantId());
        } finally {
            catalog.stop();
        }
    }
}
