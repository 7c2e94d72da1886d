package dev.tierserve.gateway;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.testing.GraphFixtures;
import dev.tierserve.store.EncoderQuality;
import dev.tierserve.store.VariantManifest;
import dev.tierserve.store.VariantStore;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Map;

/**
 * Real variants of a test model's MiniLM, made with the graph toolkit and published into a store as fixtures: their
 * manifests state a tier and a quality, not measured ones (these fixtures test serving, not compression).
 */
public final class VariantFixtures {

    private VariantFixtures() {
    }

    /** MiniLM without its last {@code dropped} layers. */
    public static ModelProto dropLast(String model, int dropped) {
        return GraphFixtures.dropLast(parentFile(model), dropped);
    }

    /**
     * MiniLM with {@code extra} identity matrix products (hidden x hidden) on its output: the same outputs, bit for
     * bit, at several times the compute.
     */
    public static ModelProto padded(String model, int extra, int hidden) {
        return GraphFixtures.padded(parentFile(model), extra, hidden);
    }

    /** Publishes {@code graph} as variant {@code id} of {@code tier}, its manifest stating {@code cosine}. */
    public static void publish(VariantStore store, String model, String id, ModelProto graph, double tier,
                               double cosine) {
        if (store.variant(model, id).isPresent()) {
            return; // published by an earlier run into this build's store
        }
        store.publish(model, id, GraphFixtures.writer(graph), sha -> new VariantManifest(id, model, "", "fixture: " + id,
                Map.of(), tier, tier, null,
                new VariantManifest.Quality("fixture", 0, new EncoderQuality(cosine, cosine, 1, null, null), null),
                "", sha, Instant.now().toString(), false));
    }

    private static Path parentFile(String model) {
        return TestModels.ROOT.resolve(model).resolve("model.onnx");
    }
}
