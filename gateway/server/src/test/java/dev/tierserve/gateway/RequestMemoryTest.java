package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.bertRawRequest;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tierserve.proto.inference.ModelInferResponse;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * A request's working memory is the request's, not the session's: once it is answered, the native memory it needed
 * (attention scores and activations, hundreds of MiB for a large batch) is freed, so one large request does not
 * raise the gateway's memory for as long as the model stays cached.
 */
@EnabledOnOs(value = OS.LINUX, disabledReason = "reads glibc's allocator")
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class RequestMemoryTest extends ConnectedGatewayTest {

    /** ONNX Runtime's CPU arena would keep hundreds of MiB after the batch below; the session is loaded before. */
    private static final long KEPT_BOUND = 64L << 20;

    @Test
    void aLargeBatchFreesItsWorkingMemoryOnceAnswered() {
        client.stub.modelInfer(bertRawRequest(BGE, 1, 8, 1).build()); // the session is loaded before the baseline
        long before = NativeHeap.liveBytes();

        ModelInferResponse response = client.stub.modelInfer(bertRawRequest(BGE, 16, 512, 2).build());

        long kept = NativeHeap.liveBytes() - before;
        assertEquals(16L * 512 * 384 * Float.BYTES, response.getRawOutputContents(0).size(), "it was answered in full");
        assertTrue(kept <= KEPT_BOUND, "the native heap kept " + (kept >> 20) + " MiB after the request was answered");
    }
}
