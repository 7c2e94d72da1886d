package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A cache that holds only one of two real models, under many concurrent requests alternating between them:
 * sessions are evicted and reloaded all the time, and no request fails (a session closed under a running request
 * would fail it).
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
@TestProfile(EvictionTest.SmallCache.class)
class EvictionTest {

    /** BGE-small (133 MB) and all-MiniLM-L6 (90 MB) do not fit together in 150 MB. */
    public static class SmallCache implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("gateway.cache.max-bytes", Long.toString(150L << 20), "gateway.inference.workers", "4");
        }
    }

    @Inject
    SessionCache sessions;

    @Test
    void alternatingModelsUnderConcurrencyNeverFail() throws Exception {
        int threads = 16;
        int requestsPerThread = 12;
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        long loadsBefore = sessions.loadCount();
        try (GatewayTestClient client = new GatewayTestClient().awaitReady()) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < requestsPerThread; i++) {
                        String model = (thread + i) % 2 == 0 ? BGE : TestModels.MINILM;
                        try {
                            ModelInferResponse response = client.stub.withDeadlineAfter(120, TimeUnit.SECONDS)
                                    .modelInfer(bertRequest(model, 1, 8, thread * 100L + i).build());
                            assertEquals(model, response.getModelName());
                        } catch (Throwable e) {
                            errors.add(e);
                        }
                    }
                }));
            }
            for (Future<?> future : done) {
                future.get(5, TimeUnit.MINUTES);
            }
            pool.shutdown();
        }
        assertTrue(errors.isEmpty(), errors.size() + " requests failed, first: " + errors.peek());
        assertTrue(sessions.evictionCount() > 0, "the small cache evicted sessions");
        assertTrue(sessions.loadCount() - loadsBefore > 2, "evicted models were loaded again");
        assertTrue(sessions.loadedBytes() <= 150L << 20, "the cache stays within its weight once quiet");
    }
}
