package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.testing.GraphFixtures;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.store.EncoderQuality;
import dev.tierserve.store.VariantManifest;
import dev.tierserve.store.VariantStore;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code tier=auto} on real variants of all-MiniLM-L6 (its last 2 and last 4 layers dropped by the graph toolkit,
 * published as fixtures of the 1.5x and 3x tiers): with a generous deadline it answers with {@code exact}; with the
 * model's 1 ms default SLA, which nothing meets, with the fastest tier and {@code sla_miss_predicted}. (The choice
 * between, as the time left shrinks, is {@code AutoTierTest}'s, on latencies it sets.)
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class AutoTierEndToEndTest extends ConnectedGatewayTest {

    @Inject
    VariantCatalog catalog;

    @Test
    void generousDeadlinesGetExactAndAnUnmeetableSlaTheFastestTier() {
        publishFixture(catalog.store(), 2, 1.5, 0.95);
        publishFixture(catalog.store(), 4, 3, 0.85);
        assertEquals(3, catalog.refresh(TestModels.AUTO).readyTiers().size() + 1, "exact, 1.5x and 3x");

        ModelInferRequest.Builder request = bertRequest(TestModels.AUTO, 1, 256, 3);
        for (String tier : new String[] {"exact", "1.5x", "3x"}) {
            for (int i = 0; i < 5; i++) { // live latency for each tier
                assertEquals(tier, served(client.stub.modelInfer(request.clone().putParameters("tier", string(tier)).build())));
            }
        }
        ModelInferRequest auto = request.clone().putParameters("tier", string("auto")).build();

        ModelInferResponse generous = client.stub.withDeadlineAfter(60, TimeUnit.SECONDS).modelInfer(auto);
        assertEquals("exact", served(generous));
        assertFalse(generous.getParametersMap().containsKey("sla_miss_predicted"));

        ModelInferResponse unmeetable = client.stub.modelInfer(auto); // no deadline: the model's 1 ms default SLA
        assertEquals("3x", served(unmeetable), "the fastest ready tier");
        assertTrue(unmeetable.getParametersOrThrow("sla_miss_predicted").getBoolParam());
    }

    private static String served(ModelInferResponse response) {
        return response.getParametersOrThrow("tier").getStringParam();
    }

    /** MiniLM without its last {@code dropped} layers, published as a variant of {@code tier}. */
    private static void publishFixture(VariantStore store, int dropped, double tier, double cosine) {
        String id = "fixture-drop" + dropped;
        if (store.variant(TestModels.AUTO, id).isPresent()) {
            return; // published by an earlier run into this build's store
        }
        ModelProto model = VariantFixtures.dropLast(TestModels.AUTO, dropped);
        // The speedup is the kept layers' share, not measured: this fixture tests routing, not compression.
        double nominal = 6.0 / (6 - dropped);
        store.publish(TestModels.AUTO, id, GraphFixtures.writer(model), sha -> new VariantManifest(id, TestModels.AUTO, "",
                "fixture: last " + dropped + " layers dropped", Map.of(), tier, nominal, null,
                new VariantManifest.Quality("fixture", 0, new EncoderQuality(cosine, cosine, 1, null, null), null),
                "", sha, Instant.now().toString(), false));
    }
}
