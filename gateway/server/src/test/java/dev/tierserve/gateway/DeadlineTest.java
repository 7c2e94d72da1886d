package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.bertRawRequest;
import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tierserve.gateway.inference.InferenceExecutor;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Deadlines end requests while they wait and while they run: a running ONNX Runtime call is terminated (the
 * gateway's terminated counter moves), and the workers are free again right after.
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class DeadlineTest extends ConnectedGatewayTest {

    /** Batch 32 x 512 tokens: several seconds of BGE-small on one thread, far beyond the deadlines below. */
    static ModelInferRequest.Builder slowRequest() {
        return bertRawRequest(BGE, 32, 512, 5);
    }


    @Inject
    MeterRegistry meters;

    @Inject
    InferenceExecutor executor;

    /** A terminated call's worker is busy until ONNX Runtime returns: each test starts with idle workers. */
    @BeforeEach
    void idleWorkers() throws InterruptedException {
        GatewayTestClient.awaitCount(executor::running, 0, "no inference left running");
        GatewayTestClient.awaitCount(executor::queued, 0, "no request left waiting");
    }

    @Test
    void timeoutParameterTerminatesTheRunningInference() throws InterruptedException {
        double terminatedBefore = terminated();
        ModelInferRequest request = slowRequest()
                .putParameters("timeout", InferParameter.newBuilder().setInt64Param(300_000).build()).build();
        String message = failure(Status.Code.DEADLINE_EXCEEDED, () -> client.stub.modelInfer(request));
        assertTrue(message.contains("terminated"), message);
        assertEquals(terminatedBefore + 1, terminated(), 0.0);
        assertEquals(List.of(1L, 4L, 384L), client.stub.modelInfer(bertRequest(BGE, 1, 4, 1).build())
                .getOutputs(0).getShapeList());
    }

    @Test
    void grpcDeadlineTerminatesTheRunningInferenceOnTheServer() throws InterruptedException {
        double terminatedBefore = terminated();
        failure(Status.Code.DEADLINE_EXCEEDED, () -> client.stub.withDeadlineAfter(300, TimeUnit.MILLISECONDS)
                .modelInfer(slowRequest().build()));
        // The client gives up at its deadline; the server's termination follows.
        GatewayTestClient.awaitCount(() -> (int) (terminated() - terminatedBefore), 1, "the call terminated");
    }

    @Test
    void requestsExpireWhileWaitingForAWorker() throws Exception {
        double expiredBefore = meters.counter("gateway.inference.expired.queued").count();
        double terminatedBefore = terminated();
        // Occupy both test workers with slow requests, then send one that can only wait.
        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async = GRPCInferenceServiceGrpc.newFutureStub(client.channel);
        List<com.google.common.util.concurrent.ListenableFuture<ModelInferResponse>> blockers = new ArrayList<>();
        for (int i = 0; i < 2; i++) {
            blockers.add(async.withDeadlineAfter(1500, TimeUnit.MILLISECONDS).modelInfer(slowRequest().build()));
        }
        GatewayTestClient.awaitCount(executor::running, 2, "both workers run a blocker");
        String message = failure(Status.Code.DEADLINE_EXCEEDED, () -> client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .putParameters("timeout", InferParameter.newBuilder().setInt64Param(100_000).build()).build()));
        assertTrue(message.contains("waiting for a worker"), message);
        assertEquals(expiredBefore + 1, meters.counter("gateway.inference.expired.queued").count(), 0.0);
        for (var blocker : blockers) {
            try {
                blocker.get();
            } catch (java.util.concurrent.ExecutionException e) {
                assertEquals(Status.Code.DEADLINE_EXCEEDED, ((StatusRuntimeException) e.getCause()).getStatus().getCode());
            }
        }
        // Both blockers end on the server too (and are counted) before the next test reads any statistics.
        GatewayTestClient.awaitCount(() -> (int) (terminated() - terminatedBefore), 2, "both blockers terminated");
    }

    private double terminated() {
        return meters.counter("gateway.inference.terminated").count();
    }
}
