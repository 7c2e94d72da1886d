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
import dev.tierserve.store.VariantManifest;
import dev.tierserve.store.VariantStore;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tier=auto} over a real variant store holding a 1.5x and a 3x variant of a model: the most accurate tier
 * whose predicted completion fits the time left, faster tiers as it shrinks, the fastest marked
 * {@code sla_miss_predicted} when none fits.
 */
class AutoTierTest {

    private static final String MODEL = "m";
    private static final ModelEntry ENTRY = new ModelEntry(MODEL, Path.of(MODEL),
            ModelConfig.newBuilder().setName(MODEL).build(), ModelKind.ONNX);

    @TempDir
    Path store;

    private VariantCatalog catalog;
    private TierRouter router;
    /** Compute time (ns) per session key, as the live latency would report it; absent: nothing recorded. */
    private final Map<String, Long> compute = new HashMap<>();
    private long queue;
    private double arrivalsPerWorkerSecond;
    private final CompletionPredictor predictor = new CompletionPredictor() {
        @Override
        public OptionalLong computeNanos(String sessionKey, long batch, double percentile) {
            Long value = compute.get(sessionKey);
            return value == null ? OptionalLong.empty() : OptionalLong.of(value);
        }

        @Override
        public long queueWaitNanos() {
            return queue;
        }

        @Override
        public double arrivalsPerWorkerSecond() {
            return arrivalsPerWorkerSecond;
        }
    };

    @BeforeEach
    void publish() {
        VariantStore variants = VariantStore.filesystem(store);
        publish(variants, "v15", 1.5, 1.6, 0.98);
        publish(variants, "v3", 3, 3.2, 0.90);
        catalog = new VariantCatalog(variants, List.of(MODEL), Duration.ofHours(1), new SimpleMeterRegistry());
        router = new TierRouter(catalog);
    }

    @AfterEach
    void close() {
        catalog.stop();
    }

    @Test
    void theMostAccurateTierThatFitsAnswers() {
        compute.put(MODEL, ms(30));
        compute.put(MODEL + "@v15", ms(19));
        compute.put(MODEL + "@v3", ms(10));
        assertEquals("exact", auto(ms(100)).served().name(), "a generous deadline: exact");
        assertEquals("1.5x", auto(ms(25)).served().name());
        assertEquals("3x", auto(ms(15)).served().name());
        queue = ms(10);
        assertEquals("3x", auto(ms(25)).served().name(), "the queue's wait counts");
        TierRoute hopeless = auto(ms(5));
        assertEquals("3x", hopeless.served().name(), "none fits: the fastest");
        assertTrue(hopeless.slaMissPredicted());
        assertFalse(auto(ms(100)).slaMissPredicted());
        assertEquals(MODEL + "@v3", hopeless.sessionKey());
    }

    @Test
    void underLoadTheMostAccurateTierTheWorkersKeepUpWithAnswers() {
        compute.put(MODEL, ms(30));
        compute.put(MODEL + "@v15", ms(19));
        compute.put(MODEL + "@v3", ms(10));
        arrivalsPerWorkerSecond = 15; // exact: 0.45 of the workers' time
        assertEquals("exact", auto(ms(100)).served().name(), "half load: exact");
        arrivalsPerWorkerSecond = 35; // exact 1.05, 1.5x 0.665, 3x 0.35
        assertEquals("1.5x", auto(ms(100)).served().name(), "the deadline fits exact, the load does not");
        arrivalsPerWorkerSecond = 50; // 1.5x 0.95, 3x 0.5
        assertEquals("3x", auto(ms(100)).served().name());
        arrivalsPerWorkerSecond = 200; // even 3x: 2.0
        TierRoute overloaded = auto(ms(100));
        assertEquals("3x", overloaded.served().name(), "none keeps up: the fastest");
        assertTrue(overloaded.slaMissPredicted());
    }

    @Test
    void aTierNotRunLatelyIsPredictedFromExactOverItsMeasuredSpeedup() {
        compute.put(MODEL, ms(32));
        // 1.5x: 32 / 1.6 = 20 ms; 3x: 32 / 3.2 = 10 ms.
        assertEquals("1.5x", auto(ms(21)).served().name());
        assertEquals("3x", auto(ms(19)).served().name());
    }

    @Test
    void withoutDeadlineOrAnythingRecordedExactAnswers() {
        assertEquals("exact", router.routeAuto(ENTRY, null, 1, predictor).served().name());
        assertEquals("exact", auto(ms(1)).served().name(), "nothing recorded: nothing to predict from");
        assertFalse(auto(ms(1)).slaMissPredicted());
    }

    private TierRoute auto(long remainingNanos) {
        return router.routeAuto(ENTRY, remainingNanos, 1, predictor);
    }

    private static long ms(long millis) {
        return TimeUnit.MILLISECONDS.toNanos(millis);
    }

    private static void publish(VariantStore store, String id, double target, double measured, double cosine) {
        ModelProto model = ModelProto.newBuilder().setIrVersion(8).setGraph(GraphProto.newBuilder().setName(id)).build();
        store.publish(MODEL, id, file -> Files.write(file, model.toByteArray()), sha -> new VariantManifest(id, MODEL, "parent-sha", "fixture",
                Map.of(), target, measured, null,
                new VariantManifest.Quality("fixture", 1, new EncoderQuality(cosine, cosine, 1, null, null), null),
                "", sha, "2026-11-30T00:00:00Z", false));
    }
}
