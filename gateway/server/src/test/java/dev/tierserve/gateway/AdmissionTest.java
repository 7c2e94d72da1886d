package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.awaitCount;
import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.bertRawRequest;
import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import dev.tierserve.gateway.inference.InferenceExecutor;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelConfigRequest;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Admission on one worker, with Triton's queue policy (minilm-queued: levels 1 and 2, default 2, at most 4 waiting
 * per level): a higher level is served before everything waiting below it, a level's full queue is refused at once
 * (RESOURCE_EXHAUSTED) while another level still queues, and a deadline the request cannot meet is refused before it
 * takes a place in the queue.
 */
@QuarkusTest
@TestProfile(AdmissionTest.OneWorker.class)
@QuarkusTestResource(TestModels.class)
class AdmissionTest extends ConnectedGatewayTest {

    public static class OneWorker implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("gateway.inference.workers", "1");
        }
    }

    @Inject
    InferenceExecutor executor;

    @Inject
    MeterRegistry meters;

    @Test
    void aHigherLevelIsServedFirstAndAFullLevelIsRefusedAtOnce() throws Exception {
        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async = GRPCInferenceServiceGrpc
                .newFutureStub(client.channel).withDeadlineAfter(5, TimeUnit.MINUTES);
        ListenableFuture<ModelInferResponse> blocker = async.modelInfer(bertRawRequest(BGE, 32, 512, 5).build());
        awaitCount(executor::running, 1, "the worker runs the blocker");

        Queue<String> finished = new ConcurrentLinkedQueue<>();
        List<ListenableFuture<String>> all = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            all.add(track(async.modelInfer(queued(2)), "low-" + i, finished));
        }
        awaitCount(executor::queued, 4, "four low-priority requests wait");
        String full = failure(Status.Code.RESOURCE_EXHAUSTED, () -> client.stub.modelInfer(queued(2)));
        assertTrue(full.contains("max_queue_size 4"), full);
        all.add(track(async.modelInfer(queued(1)), "high", finished));
        awaitCount(executor::queued, 5, "the high-priority request waits behind the blocker too");

        blocker.get();
        for (ListenableFuture<String> request : all) {
            request.get();
        }
        assertEquals("high", finished.peek(), "served first, though it came last: " + finished);
        assertEquals(5, finished.size());
    }

    @Test
    void aDeadlineTheModelCannotMeetIsRefusedBeforeQueueing() {
        for (int i = 0; i < 3; i++) {
            client.stub.modelInfer(queued(2)); // live latency to predict from
        }
        double refusedBefore = meters.counter("gateway.inference.refused.deadline").count();
        double expiredBefore = meters.counter("gateway.inference.expired.queued").count();
        String message = failure(Status.Code.DEADLINE_EXCEEDED, () -> client.stub.modelInfer(queued(2).toBuilder()
                .putParameters("timeout", InferParameter.newBuilder().setInt64Param(1).build()).build()));
        assertTrue(message.contains("refused before queueing"), message);
        assertEquals(refusedBefore + 1, meters.counter("gateway.inference.refused.deadline").count(), 0.0);
        assertEquals(expiredBefore, meters.counter("gateway.inference.expired.queued").count(), 0.0,
                "it never waited in the queue");
    }

    @Test
    void aPriorityOutsideTheLevelsIsInvalidAndTheConfigShowsThePolicy() {
        String message = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(queued(3)));
        assertTrue(message.contains("1..2"), message);
        assertEquals(2, client.stub.modelConfig(ModelConfigRequest.newBuilder().setName(TestModels.QUEUED).build())
                .getConfig().getDynamicBatching().getPriorityLevels());
    }

    /**
     * A queued request: 256 tokens, long enough (tens of ms) that the order responses reach the client's callback
     * threads is the order the one worker served them.
     */
    private static ModelInferRequest queued(int priority) {
        return bertRequest(TestModels.QUEUED, 1, 256, priority).putParameters("priority",
                InferParameter.newBuilder().setInt64Param(priority).build()).build();
    }

    /**
     * The call, noting its name in {@code finished} when it completes; the returned future completes only after the
     * name is noted (a callback could still be running when {@code get()} returns).
     */
    private static ListenableFuture<String> track(ListenableFuture<ModelInferResponse> call, String name,
                                                  Queue<String> finished) {
        return Futures.transform(Futures.catching(Futures.transform(call, response -> name,
                        MoreExecutors.directExecutor()), Throwable.class, error -> name + " failed: " + error,
                MoreExecutors.directExecutor()), noted -> {
            finished.add(noted);
            return noted;
        }, MoreExecutors.directExecutor());
    }
}
