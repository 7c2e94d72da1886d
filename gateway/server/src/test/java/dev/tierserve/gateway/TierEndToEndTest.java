package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static dev.tierserve.gateway.GatewayTestClient.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ModelMetadataRequest;
import dev.tierserve.store.StoredVariant;
import dev.tierserve.store.VariantStore;
import io.grpc.Status;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A tier built on the fly, end to end on all-MiniLM-L6 with the local compressor (a child process): the first request for 1.5x
 * is answered by {@code exact} with {@code degraded_from}, the job it started publishes a measured variant, and later
 * requests are answered by that variant without a restart.
 */
@QuarkusTest
@TestProfile(TierEndToEndTest.LocalCompressor.class)
@QuarkusTestResource(TestModels.class)
class TierEndToEndTest extends ConnectedGatewayTest {

    /** A fixed path: the profile and the test may live in different class loaders. */
    static final Path STORE = Path.of("target/tier-e2e-store").toAbsolutePath();

    /** The compressor on, with a small and fast job (TrimLLM at float32, 16 calibration texts, sequence 64). */
    public static class LocalCompressor implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            deleteStore(); // every run starts with no variant
            return Map.of("gateway.compressor.mode", "local",
                    "gateway.compressor.methods", "trimllm",
                    "gateway.compressor.precisions", "float32",
                    "gateway.compressor.calibration-texts", "16",
                    "gateway.compressor.test-texts", "20",
                    "gateway.compressor.sequence", "64",
                    "gateway.variants.store", STORE.toString(),
                    "gateway.variants.watch-interval", "200ms");
        }
    }

    @Test
    void aMissingTierIsAnsweredByExactThenBuiltOnceAndServedWhenMeasured() throws Exception {
        ModelInferRequest request = bertRequest(TestModels.MINILM, 1, 64, 5).putParameters("tier", string("1.5x"))
                .build();
        ModelInferResponse first = client.stub.modelInfer(request);
        assertEquals("exact", first.getParametersOrThrow("tier").getStringParam());
        assertEquals("1.5x", first.getParametersOrThrow("degraded_from").getStringParam());
        assertEquals("parent", first.getParametersOrThrow("variant").getStringParam());

        String strict = failure(Status.Code.UNAVAILABLE, () -> client.stub.modelInfer(request.toBuilder()
                .putParameters("strict_tier", InferParameter.newBuilder().setBoolParam(true).build()).build()));
        assertTrue(strict.contains("job-"), "names the job building the tier: " + strict);

        // Many requests while the job runs: all answered, none starts a second job.
        ModelInferResponse served = first;
        long until = System.nanoTime() + 10L * 60 * 1_000_000_000L;
        while (served.getParametersOrThrow("tier").getStringParam().equals("exact")) {
            assertTrue(System.nanoTime() < until, "the 1.5x variant was not served within 10 minutes");
            Thread.sleep(500);
            served = client.stub.modelInfer(request);
        }
        assertEquals("1.5x", served.getParametersOrThrow("tier").getStringParam());
        assertTrue(!served.getParametersMap().containsKey("degraded_from"));
        String variantId = served.getParametersOrThrow("variant").getStringParam();

        VariantStore store = VariantStore.filesystem(STORE);
        List<StoredVariant> variants = store.variants(TestModels.MINILM);
        assertEquals(1, variants.size(), "exactly one variant published");
        StoredVariant variant = variants.get(0);
        assertEquals(variantId, variant.id());
        assertTrue(variant.manifest().measuredSpeedup() >= 1.5, "measured " + variant.manifest().measuredSpeedup());
        assertEquals(64, variant.manifest().latency().runtime().sequence());
        assertEquals(first.getOutputs(0).getShapeList(), served.getOutputs(0).getShapeList());

        // Tiers appear as versions, and a variant id pins it.
        assertTrue(client.stub.modelMetadata(ModelMetadataRequest.newBuilder().setName(TestModels.MINILM).build())
                .getVersionsList().contains("1.5x"));
        ModelInferResponse pinned = client.stub.modelInfer(bertRequest(TestModels.MINILM, 1, 64, 5)
                .setModelVersion(variantId).build());
        assertEquals(variantId, pinned.getParametersOrThrow("variant").getStringParam());
        // A faster tier with no variant is answered by the fastest ready one below it.
        ModelInferResponse faster = client.stub.modelInfer(bertRequest(TestModels.MINILM, 1, 64, 5)
                .putParameters("tier", string("9x")).build());
        assertEquals("1.5x", faster.getParametersOrThrow("tier").getStringParam());
        assertEquals("9x", faster.getParametersOrThrow("degraded_from").getStringParam());
    }

    private static void deleteStore() {
        if (!Files.exists(STORE)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(STORE)) {
            for (Path path : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
