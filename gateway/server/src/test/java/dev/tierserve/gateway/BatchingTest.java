package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.awaitCount;
import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.BGE_TEXT;
import static dev.tierserve.gateway.GatewayTestClient.bertRawRequest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.tierserve.gateway.inference.InFlightCalls;
import dev.tierserve.gateway.inference.InferenceExecutor;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferBatchStatistics;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ModelStatistics;
import dev.tierserve.proto.inference.ModelStatisticsRequest;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Dynamic batching: concurrent requests to a batching model run as one execution (ModelStatistics counts one
 * execution of four inferences) and each gets exactly the bits it gets unbatched, for tensors and text, on MiniLM and
 * BGE; text batches by token length; a request that leaves a running batch is answered at once while the batch runs
 * on for the others, and the batch is terminated only when its last request leaves; a text batch holds at most
 * {@code max_batch_tokens}.
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class BatchingTest extends ConnectedGatewayTest {

    /** Sentences of different lengths up to 16 tokens (with [CLS] and [SEP]): one length bucket, padded to the longest. */
    static final List<String> SIMILAR = List.of(
            "the cat sat on the mat in the warm sun",
            "a gateway serves many models to many users",
            "short texts should not pay for padding to long ones",
            "batching makes the small server much faster today");

    static final String LONG = "The Fulton County Grand Jury said Friday an investigation of Atlanta's recent primary "
            + "election produced no evidence that any irregularities took place, the jury further said in term-end "
            + "presentments.";

    @Inject
    InferenceExecutor executor;

    @Inject
    InFlightCalls calls;

    @Inject
    MeterRegistry meters;

    @Test
    void miniLmTensorRequestsShareOneExecutionAndKeepTheirBits() throws Exception {
        List<ModelInferRequest> alone = List.of(bertRawRequest(TestModels.MINILM, 1, 12, 1).build(),
                bertRawRequest(TestModels.MINILM, 2, 12, 2).build(), bertRawRequest(TestModels.MINILM, 1, 12, 3).build());
        assertBatchedEqualsAlone(alone, TestModels.MINILM_BATCHED, 4);
    }

    @Test
    void bgeTensorRequestsShareOneExecutionAndKeepTheirBits() throws Exception {
        List<ModelInferRequest> alone = new ArrayList<>();
        for (int seed = 1; seed <= 4; seed++) {
            alone.add(bertRawRequest(BGE, 1, 10, seed).build());
        }
        assertBatchedEqualsAlone(alone, TestModels.BGE_BATCHED, 4);
    }

    @Test
    void miniLmTextOfSimilarLengthSharesOneExecutionAndKeepsItsBits() throws Exception {
        assertBatchedEqualsAlone(SIMILAR.stream().map(s -> text(TestModels.MINILM_TEXT, s)).toList(),
                TestModels.MINILM_TEXT_BATCHED, 4);
    }

    @Test
    void bgeTextOfSimilarLengthSharesOneExecutionAndKeepsItsBits() throws Exception {
        assertBatchedEqualsAlone(SIMILAR.stream().map(s -> text(BGE_TEXT, s)).toList(),
                TestModels.BGE_TEXT_BATCHED, 4);
    }

    @Test
    void textBatchesByTokenLength() throws Exception {
        // Three short sentences and a long one, batched by four rows with a short wait: by length, the short ones
        // run together (3 rows, when the wait ends) and the long one alone; never all four in one padded batch.
        List<ModelInferRequest> requests = new ArrayList<>();
        SIMILAR.subList(0, 3).forEach(sentence -> requests.add(text(TestModels.BGE_TEXT_BRIEF, sentence)));
        requests.add(text(TestModels.BGE_TEXT_BRIEF, LONG));
        ModelStatistics before = statistics(TestModels.BGE_TEXT_BRIEF);
        for (ListenableFuture<ModelInferResponse> response : sendAll(requests)) {
            response.get();
        }
        ModelStatistics after = statistics(TestModels.BGE_TEXT_BRIEF);
        assertEquals(2, after.getExecutionCount() - before.getExecutionCount());
        assertEquals(4, after.getInferenceCount() - before.getInferenceCount());
        Map<Long, Long> executions = executionsBySize(after);
        executionsBySize(before).forEach((size, count) -> executions.merge(size, -count, Long::sum));
        assertEquals(Map.of(1L, 1L, 3L, 1L), executions);
    }

    @Test
    void aTextBatchHoldsAtMostMaxBatchTokens() throws Exception {
        // Four sentences of the 16-token bucket, batched by four rows but at most 32 tokens: two batches of two.
        ModelStatistics before = statistics(TestModels.BGE_TEXT_BUDGET);
        for (ListenableFuture<ModelInferResponse> response
                : sendAll(SIMILAR.stream().map(s -> text(TestModels.BGE_TEXT_BUDGET, s)).toList())) {
            response.get();
        }
        ModelStatistics after = statistics(TestModels.BGE_TEXT_BUDGET);
        Map<Long, Long> executions = executionsBySize(after);
        executionsBySize(before).forEach((size, count) -> executions.merge(size, -count, Long::sum));
        assertEquals(Map.of(2L, 2L), executions);
    }

    @Test
    void aRequestThatLeavesARunningBatchIsAnsweredAndTheOthersFinish() throws Exception {
        double terminatedBefore = terminated();
        double cancelledBefore = cancelled();
        List<ListenableFuture<ModelInferResponse>> running = runningBatchOfFour();
        running.get(1).cancel(true);
        for (int i = 0; i < running.size(); i++) {
            if (i == 1) {
                continue;
            }
            ModelInferResponse response = running.get(i).get();
            assertEquals(List.of(1L, 512L, 384L), response.getOutputs(0).getShapeList());
        }
        awaitCount(calls::count, 0, "every call has ended");
        assertEquals(terminatedBefore, terminated(), 0.0, "the batch ran on for the three others");
        assertEquals(cancelledBefore + 1, cancelled(), 0.0, "the one that left was answered CANCELLED");
    }

    @Test
    void whenEveryRequestLeavesARunningBatchItIsTerminated() throws Exception {
        double terminatedBefore = terminated();
        List<ListenableFuture<ModelInferResponse>> running = runningBatchOfFour();
        running.forEach(call -> call.cancel(true));
        // The last to leave is answered (and the termination counted) once ONNX Runtime has returned.
        awaitCount(() -> (int) (terminated() - terminatedBefore), 1, "the batch is terminated");
        awaitCount(calls::count, 0, "every call has ended");
    }

    /** Four slow requests (512 tokens each on BGE: seconds together) batched into one running execution. */
    private List<ListenableFuture<ModelInferResponse>> runningBatchOfFour() throws InterruptedException {
        List<ModelInferRequest> requests = new ArrayList<>();
        for (int seed = 1; seed <= 4; seed++) {
            requests.add(bertRawRequest(TestModels.BGE_BATCHED, 1, 512, seed).build());
        }
        List<ListenableFuture<ModelInferResponse>> running = sendAll(requests);
        awaitCount(executor::running, 4, "the four requests run in one call");
        return running;
    }

    /**
     * Sends each request alone, one after another, for reference; then the same requests at once to
     * {@code batchedModel}, which must run them as one execution of {@code rows} rows and answer each with exactly
     * the outputs it got alone.
     */
    private void assertBatchedEqualsAlone(List<ModelInferRequest> alone, String batchedModel, int rows)
            throws Exception {
        List<ModelInferResponse> expected = new ArrayList<>();
        for (ModelInferRequest request : alone) {
            expected.add(client.stub.modelInfer(request));
        }
        ModelStatistics before = statistics(batchedModel);
        List<ModelInferRequest> batched = alone.stream()
                .map(request -> request.toBuilder().setModelName(batchedModel).build()).toList();
        List<ListenableFuture<ModelInferResponse>> responses = sendAll(batched);
        for (int i = 0; i < alone.size(); i++) {
            ModelInferResponse actual = responses.get(i).get();
            assertEquals(expected.get(i).getOutputsCount(), actual.getOutputsCount());
            for (int output = 0; output < actual.getOutputsCount(); output++) {
                assertEquals(expected.get(i).getOutputs(output).getShapeList(),
                        actual.getOutputs(output).getShapeList());
            }
            List<ByteString> want = expected.get(i).getRawOutputContentsList();
            assertTrue(!want.isEmpty() || expected.get(i).getOutputs(0).hasContents());
            assertEquals(want, actual.getRawOutputContentsList(), "request " + i + ": raw outputs differ");
            assertEquals(expected.get(i).getOutputs(0).getContents(), actual.getOutputs(0).getContents(),
                    "request " + i + ": typed outputs differ");
        }
        ModelStatistics after = statistics(batchedModel);
        assertEquals(1, after.getExecutionCount() - before.getExecutionCount(), "one execution for all");
        assertEquals(rows, after.getInferenceCount() - before.getInferenceCount());
    }

    private static List<ListenableFuture<ModelInferResponse>> sendAll(List<ModelInferRequest> requests) {
        GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async = GRPCInferenceServiceGrpc
                .newFutureStub(client.channel).withDeadlineAfter(5, TimeUnit.MINUTES);
        return requests.stream().map(async::modelInfer).toList();
    }

    private static ModelInferRequest text(String model, String sentence) {
        return GatewayTestClient.textRequest(sentence).toBuilder().setModelName(model).build();
    }

    private static ModelStatistics statistics(String model) {
        return client.stub.modelStatistics(ModelStatisticsRequest.newBuilder().setName(model).setVersion("exact")
                .build()).getModelStats(0);
    }

    private static Map<Long, Long> executionsBySize(ModelStatistics statistics) {
        Map<Long, Long> bySize = new TreeMap<>();
        for (InferBatchStatistics batch : statistics.getBatchStatsList()) {
            bySize.put(batch.getBatchSize(), batch.getComputeInfer().getCount());
        }
        return bySize;
    }

    private double cancelled() {
        var counter = meters.find("nv_inference_request_failure").tag("model", TestModels.BGE_BATCHED)
                .tag("reason", "CANCELED").counter();
        return counter == null ? 0 : counter.count();
    }

    private double terminated() {
        return meters.counter("gateway.inference.terminated").count();
    }
}
