package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.BGE_TEXT;
import static dev.tierserve.gateway.GatewayTestClient.bertRawRequest;
import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static dev.tierserve.gateway.GatewayTestClient.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.tierserve.gateway.compression.TierJobs;
import dev.tierserve.gateway.runtime.LoadedSession;
import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Status;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Each class of bad input gets its status and a message naming what is wrong; none leaves a session lease behind
 * or disturbs the next request.
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class BadInputTest extends ConnectedGatewayTest {

    @Inject
    SessionCache sessions;

    @Inject
    TierJobs jobs;

    @AfterEach
    void noLeaseLeftAndTheNextRequestWorks() throws InterruptedException {
        assertEquals(java.util.List.of(1L, 4L, 384L), client.stub.modelInfer(bertRequest(BGE, 1, 4, 3).build())
                .getOutputs(0).getShapeList(), "a good request after a bad one still answers");
        LoadedSession loaded = sessions.ifLoaded(BGE);
        // Leases are returned just after the response is written: allow the worker a moment.
        long until = System.nanoTime() + 2_000_000_000L;
        while (loaded.activeLeases() != 0 && System.nanoTime() < until) {
            Thread.sleep(10);
        }
        assertEquals(0, loaded.activeLeases(), "every request gave its session lease back");
    }

    @Test
    void unknownModelOrVersionIsNotFoundAndATierWithoutVariantDegradesOrIsUnavailable() {
        assertTrue(failure(Status.Code.NOT_FOUND, () -> client.stub.modelInfer(bertRequest("gpt-5", 1, 4, 1).build()))
                .contains("gpt-5"));
        // A name longer than a client takes in a response header: the description quoting it is cut, and the answer
        // stays a clean NOT_FOUND (uncut, the client would see a broken stream as INTERNAL).
        String cut = failure(Status.Code.NOT_FOUND, () -> client.stub.modelInfer(bertRequest("x".repeat(10_000), 1, 4,
                1).build()));
        assertTrue(cut.endsWith("…") && cut.length() <= 513, cut.length() + " characters");
        assertTrue(failure(Status.Code.NOT_FOUND, () -> client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .setModelVersion("7").build())).contains("versions: [exact]"));
        // Tests run with the compressor off: a missing tier is answered by exact, or refused when strict.
        ModelInferResponse degraded = client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .putParameters("tier", string("1.5x")).build());
        assertEquals("exact", degraded.getParametersOrThrow("tier").getStringParam());
        assertEquals("1.5x", degraded.getParametersOrThrow("degraded_from").getStringParam());
        String strict = failure(Status.Code.UNAVAILABLE, () -> client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .putParameters("tier", string("1.5x"))
                .putParameters("strict_tier", InferParameter.newBuilder().setBoolParam(true).build()).build()));
        assertTrue(strict.contains("1.5x") && strict.contains("compression is off"), strict);
        assertTrue(failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .putParameters("tier", string("fast")).build())).contains("malformed"));
        assertTrue(failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .putParameters("strict_tier", string("yes")).build())).contains("strict_tier"));
    }

    @Test
    void aMalformedRequestForAMissingTierStartsNoCompressionJob() {
        failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(edit(bertRequest(BGE, 1, 4, 1)
                .putParameters("tier", string("2.5x")), 0, input -> input.setDatatype("INT32"))));
        assertFalse(jobs.requested(BGE, "2.5x"), "a request with a bad input must not start compression");

        ModelInferResponse degraded = client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .putParameters("tier", string("2.5x")).build());
        assertEquals("2.5x", degraded.getParametersOrThrow("degraded_from").getStringParam());
        assertTrue(jobs.requested(BGE, "2.5x"), "a valid request for the missing tier asks for its job");
    }

    @Test
    void wrongDatatypeNamesTheInput() {
        String message = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(edit(bertRequest(BGE, 1, 4, 1),
                0, input -> input.setDatatype("INT32").setContents(InferTensorContents.newBuilder()
                        .addIntContents(101).addIntContents(7).addIntContents(8).addIntContents(102)))));
        assertTrue(message.contains("input_ids") && message.contains("INT64"), message);
        assertTrue(failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(edit(bertRequest(BGE, 1, 4, 1),
                0, input -> input.setDatatype("FLOAT128")))).contains("unknown datatype"));
    }

    @Test
    void wrongShapeOrElementCountNamesTheInput() {
        String rank = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(edit(bertRequest(BGE, 1, 4, 1),
                1, input -> input.clearShape().addShape(4))));
        assertTrue(rank.contains("attention_mask") && rank.contains("shape"), rank);
        String count = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(edit(bertRequest(BGE, 1, 4, 1),
                2, input -> input.clearShape().addShape(1).addShape(5))));
        assertTrue(count.contains("token_type_ids") && count.contains("5"), count);
        ModelInferRequest.Builder raw = bertRawRequest(BGE, 1, 4, 1);
        raw.setRawInputContents(0, raw.getRawInputContents(0).substring(0, 24));
        String rawCount = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(raw.build()));
        assertTrue(rawCount.contains("input_ids") && rawCount.contains("32 bytes"), rawCount);
        String negative = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(edit(bertRequest(BGE, 1, 4, 1),
                0, input -> input.clearShape().addShape(-1).addShape(4))));
        assertTrue(negative.contains("input_ids"), negative);
        String batch = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 65, 2, 1).build()));
        assertTrue(batch.contains("maximum batch size 64"), batch);
    }

    @Test
    void rawAndTypedContentsMayNotBeMixed() {
        ModelInferRequest.Builder mixed = bertRawRequest(BGE, 1, 4, 1);
        mixed.setInputs(1, bertRequest(BGE, 1, 4, 1).getInputs(1));
        assertTrue(failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(mixed.build()))
                .contains("attention_mask"));
        ModelInferRequest.Builder partial = bertRawRequest(BGE, 1, 4, 1);
        partial.removeInputs(2).addInputs(bertRequest(BGE, 1, 4, 1).getInputs(2));
        ModelInferRequest.Builder missingRaw = ModelInferRequest.newBuilder(partial.build());
        missingRaw.clearRawInputContents().addRawInputContents(partial.getRawInputContents(0))
                .addRawInputContents(partial.getRawInputContents(1));
        assertTrue(failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(missingRaw.build()))
                .contains("raw_input_contents"));
    }

    @Test
    void missingAndUnknownInputsAreNamed() {
        String missing = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .removeInputs(1).build()));
        assertTrue(missing.contains("missing input 'attention_mask'"), missing);
        String unknown = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .addInputs(bertRequest(BGE, 1, 4, 1).getInputs(0).toBuilder().setName("pixel_values")).build()));
        assertTrue(unknown.contains("pixel_values"), unknown);
        String duplicate = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 1, 4, 1)
                .addInputs(bertRequest(BGE, 1, 4, 1).getInputs(0)).build()));
        assertTrue(duplicate.contains("more than once"), duplicate);
    }

    @Test
    void oversizedPayloadIsResourceExhausted() {
        // The test profile accepts at most 4 MiB per request.
        ModelInferRequest huge = bertRawRequest(BGE, 1, 4, 1).addInputs(InferInputTensor.newBuilder().setName("padding")
                .setDatatype("UINT8").addShape(5 << 20)).addRawInputContents(ByteString.copyFrom(new byte[5 << 20])).build();
        failure(Status.Code.RESOURCE_EXHAUSTED, () -> client.stub.modelInfer(huge));
    }

    @Test
    void badTextInputsAreNamed() {
        ModelInferRequest.Builder invalidUtf8 = GatewayTestClient.textRequest("ok").toBuilder();
        invalidUtf8.getInputsBuilder(0).setContents(InferTensorContents.newBuilder()
                .addBytesContents(ByteString.copyFrom(new byte[] {(byte) 0xC3, (byte) 0x28})));
        assertTrue(failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(invalidUtf8.build()))
                .contains("UTF-8"));
        ModelInferRequest.Builder brokenLength = GatewayTestClient.textRequest("ok").toBuilder();
        brokenLength.getInputsBuilder(0).clearContents();
        brokenLength.addRawInputContents(ByteString.copyFrom(new byte[] {100, 0, 0, 0, 'o', 'k'}));
        assertTrue(failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(brokenLength.build()))
                .contains("TEXT"));
        ModelInferRequest wrongName = ModelInferRequest.newBuilder(GatewayTestClient.textRequest("ok"))
                .setInputs(0, GatewayTestClient.textRequest("ok").getInputs(0).toBuilder().setName("text")).build();
        assertTrue(failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(wrongName)).contains("TEXT"));
        assertEquals(BGE_TEXT, GatewayTestClient.textRequest("ok").getModelName());
    }

    @Test
    void corruptModelFileIsAFailedPreconditionNamingTheModelAndIsNotReparsedOnEveryRequest() {
        long failuresBefore = sessions.loadFailureCount();
        for (int i = 0; i < 5; i++) {
            String message = failure(Status.Code.FAILED_PRECONDITION, () -> client.stub.modelInfer(
                    bertRequest(TestModels.CORRUPT, 1, 4, 1).build()));
            assertTrue(message.contains(TestModels.CORRUPT) && message.contains("failed to load"), message);
        }
        // Another test may have tried it already (then none here): the failure is remembered, not retried per call.
        assertTrue(sessions.loadFailureCount() - failuresBefore <= 1,
                "load attempts: " + (sessions.loadFailureCount() - failuresBefore));
        assertEquals(TestModels.MINILM, client.stub.modelInfer(bertRequest(TestModels.MINILM, 1, 4, 1).build())
                .getModelName());
    }

    private static ModelInferRequest edit(ModelInferRequest.Builder request, int input,
                                          UnaryOperator<InferInputTensor.Builder> change) {
        request.setInputs(input, change.apply(request.getInputs(input).toBuilder()));
        return request.build();
    }
}
