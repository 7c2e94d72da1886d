package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tierserve.jobs.BearerToken;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ServerLiveRequest;
import dev.tierserve.proto.inference.ServerReadyRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The gateway with an inference token and small connection limits: calls without the token are UNAUTHENTICATED
 * while probes stay open, and one connection never has more calls in the gateway than it may open streams.
 */
@QuarkusTest
@TestProfile(ClientLimitsTest.Secured.class)
@QuarkusTestResource(TestModels.class)
class ClientLimitsTest {

    static final Path TOKEN_FILE = Path.of("target/client-limits/inference-token");
    static final String TOKEN = "inference-token-7f3a";
    static final int STREAMS_PER_CONNECTION = 2;

    public static class Secured implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Files.createDirectories(TOKEN_FILE.getParent());
                Files.writeString(TOKEN_FILE, TOKEN + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("gateway.inference.token-file", TOKEN_FILE.toString(),
                    "gateway.inference.max-concurrent-calls-per-connection", String.valueOf(STREAMS_PER_CONNECTION));
        }
    }

    @Inject
    MeterRegistry meters;

    @Test
    void inferenceNeedsTheTokenAndProbesDoNot() throws Exception {
        try (GatewayTestClient client = new GatewayTestClient().awaitReady()) {
            assertTrue(client.stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
            assertTrue(client.stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
            ModelInferRequest request = bertRequest(TestModels.MINILM, 1, 8, 1).build();
            double refusedBefore = refused();
            assertTrue(failure(Status.Code.UNAUTHENTICATED, () -> client.stub.modelInfer(request))
                    .contains("authorization: Bearer"));
            GRPCInferenceServiceBlockingStub stranger = withToken(client, "not-" + TOKEN);
            assertTrue(failure(Status.Code.UNAUTHENTICATED, () -> stranger.modelInfer(request))
                    .contains("wrong inference token"));
            assertEquals(2, refused() - refusedBefore);
            assertEquals(TestModels.MINILM, withToken(client, TOKEN).modelInfer(request).getModelName());
        }
    }

    @Test
    void oneConnectionHasNoMoreCallsInTheGatewayThanItsStreamLimit() throws Exception {
        int calls = 8;
        ExecutorService threads = Executors.newFixedThreadPool(calls + 1);
        try (GatewayTestClient client = new GatewayTestClient()) {
            GRPCInferenceServiceBlockingStub stub = withToken(client, TOKEN);
            stub.modelInfer(bertRequest(TestModels.MINILM, 1, 8, 1).build()); // connected and loaded
            AtomicInteger peak = new AtomicInteger();
            AtomicBoolean running = new AtomicBoolean(true);
            Future<?> sampler = threads.submit(() -> {
                while (running.get()) {
                    peak.accumulateAndGet((int) meters.get("gateway.requests.in.flight").gauge().value(), Math::max);
                }
            });
            CountDownLatch start = new CountDownLatch(1);
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                long seed = i;
                answers.add(threads.submit(() -> {
                    start.await();
                    // 32 x 128 tokens: long enough that the eight calls overlap in the gateway if they can.
                    return stub.modelInfer(bertRequest(TestModels.MINILM, 32, 128, seed).build()).getModelName();
                }));
            }
            start.countDown();
            for (Future<String> answer : answers) {
                assertEquals(TestModels.MINILM, answer.get(), "every call is answered: the client queues the rest");
            }
            running.set(false);
            sampler.get();
            System.out.printf("client limits: %d calls on one connection, at most %d in the gateway at once%n",
                    calls, peak.get());
            assertTrue(peak.get() >= 1 && peak.get() <= STREAMS_PER_CONNECTION, "peak in flight " + peak.get());
        } catch (StatusRuntimeException e) {
            throw new AssertionError(e.getStatus().toString(), e);
        } finally {
            threads.shutdownNow();
        }
    }

    private double refused() {
        return meters.counter("gateway.inference.refused", "reason", "unauthenticated").count();
    }

    private static GRPCInferenceServiceBlockingStub withToken(GatewayTestClient client, String token)
            throws IOException {
        Path file = Files.createTempFile(TOKEN_FILE.getParent(), "presented", "");
        Files.writeString(file, token);
        return client.stub.withCallCredentials(BearerToken.read(file).callCredentials());
    }
}
