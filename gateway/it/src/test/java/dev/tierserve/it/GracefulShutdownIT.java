package dev.tierserve.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ServerReadyRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM while requests are in flight, as Kubernetes stops a pod: the requests the gateway accepted complete, new
 * ones are refused with UNAVAILABLE, every ONNX Runtime session is closed, and the process exits 0 within its grace
 * period.
 */
class GracefulShutdownIT {

    private static final int IN_FLIGHT = 3;

    @TempDir
    Path home;

    @Test
    void inFlightRequestsCompleteNewOnesAreRefusedAndTheProcessExitsZero() throws Exception {
        // One worker, so that the accepted requests queue behind each other and are still there at SIGTERM.
        MiniLmRepository.create(home.resolve("models"));
        try (PackagedGateway gateway = PackagedGateway.start(home, "gateway.inference.workers=1",
                "quarkus.shutdown.timeout=120s")) {
            // A second model's session beside BGE-small's, so that shutdown has more than one to close.
            GRPCInferenceServiceGrpc.newBlockingStub(gateway.channel()).withDeadlineAfter(2, TimeUnit.MINUTES)
                    .modelInfer(ModelInferRequest.newBuilder().setModelName(MiniLmRepository.TEXT)
                            .addInputs(InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES").addShape(1)
                                    .setContents(InferTensorContents.newBuilder()
                                            .addBytesContents(ByteString.copyFromUtf8("a second model")))).build());
            GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async =
                    GRPCInferenceServiceGrpc.newFutureStub(gateway.channel()).withDeadlineAfter(10, TimeUnit.MINUTES);
            List<ListenableFuture<ModelInferResponse>> accepted = new ArrayList<>();
            for (int i = 0; i < IN_FLIGHT; i++) {
                accepted.add(async.modelInfer(slowTextRequest(i)));
            }
            awaitInFlight(gateway, IN_FLIGHT);

            gateway.process().destroy(); // SIGTERM
            // ServerReady is answered throughout the drain; once it says not ready, new calls are refused.
            GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub probe =
                    GRPCInferenceServiceGrpc.newBlockingStub(gateway.channel()).withDeadlineAfter(1, TimeUnit.MINUTES);
            while (probe.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()) {
                Thread.sleep(5);
            }
            StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                    () -> probe.modelInfer(slowTextRequest(IN_FLIGHT)));
            assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode(), refused.toString());
            assertTrue(refused.getStatus().getDescription().contains("shutting down"), refused.toString());
            for (ListenableFuture<ModelInferResponse> request : accepted) {
                assertEquals(List.of(8L, 384L), request.get().getOutputs(0).getShapeList(),
                        "every accepted request completes");
            }
            assertTrue(gateway.process().waitFor(180, TimeUnit.SECONDS), "exits after draining");
            assertEquals(0, gateway.process().exitValue(), gateway.logText());
            assertTrue(Pattern.compile("GracefulShutdown].* drained \\d+ call").matcher(gateway.logText()).find(),
                    "drained before the grace period ran out:\n" + gateway.logText());
            Matcher closed = Pattern.compile("closed (\\d+) of the (\\d+) session\\(s\\) loaded since start")
                    .matcher(gateway.logText());
            assertTrue(closed.find() && Integer.parseInt(closed.group(2)) > 0, "sessions at exit:\n" + gateway.logText());
            assertEquals(closed.group(2), closed.group(1), "every ONNX Runtime session loaded is closed before the exit");
        }
    }

    /** Eight sentences of about 400 tokens: long enough that three of them queue behind one worker. */
    static ModelInferRequest slowTextRequest(int seed) {
        InferTensorContents.Builder texts = InferTensorContents.newBuilder();
        for (int s = 0; s < 8; s++) {
            StringBuilder sentence = new StringBuilder();
            for (int w = 0; w < 400; w++) {
                sentence.append("word").append((seed * 31 + s * 7 + w) % 97).append(' ');
            }
            texts.addBytesContents(ByteString.copyFromUtf8(sentence.toString()));
        }
        return ModelInferRequest.newBuilder().setModelName("bge-small-en-v1.5-text")
                .addInputs(InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES").addShape(8)
                        .setContents(texts)).build();
    }

    /** Waits until the gateway's in-flight gauge shows {@code count} calls (it counts them as they arrive). */
    static void awaitInFlight(PackagedGateway gateway, int count) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        Pattern gauge = Pattern.compile("(?m)^gateway_requests_in_flight(\\{[^}]*\\})? ([0-9.]+)$");
        double seen = -1;
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < until) {
            String metrics = http.send(HttpRequest.newBuilder(URI.create(gateway.httpBase() + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            Matcher m = gauge.matcher(metrics);
            seen = m.find() ? Double.parseDouble(m.group(2)) : -1;
            if (seen >= count) {
                return;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the gateway never had " + count + " calls in flight (last seen " + seen + ")");
    }
}
