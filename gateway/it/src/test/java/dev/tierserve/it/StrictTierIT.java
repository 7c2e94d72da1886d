package dev.tierserve.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import dev.tierserve.proto.compressor.Pooling;
import dev.tierserve.proto.compressor.Precision;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ServerLiveRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Starting a tier's job never holds a gRPC thread, and a request's deadline bounds its wait for the job's id: the
 * packaged gateway in remote mode, against a compressor that answers submissions only when the test lets it. Jobs
 * carry the served embedding (BGE: CLS pooling, normalised), so that variants are ranked by what clients get.
 */
class StrictTierIT {

    private static final String BGE = "bge-small-en-v1.5";
    private static final String BGE_TEXT = "bge-small-en-v1.5-text";

    @TempDir
    Path home;

    @Test
    void aStrictRequestWaitsForItsJobOffTheEventLoopAndJobsCarryTheServedPoolingAndPrecisions() throws Exception {
        try (FakeCompressor compressor = new FakeCompressor();
             PackagedGateway gateway = PackagedGateway.start(home, "gateway.compressor.mode=remote",
                     "gateway.compressor.address=" + compressor.address(),
                     "gateway.compressor.precisions=float32,int8")) {
            GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async =
                    GRPCInferenceServiceGrpc.newFutureStub(gateway.channel()).withDeadlineAfter(5, TimeUnit.MINUTES);
            ListenableFuture<ModelInferResponse> strict = async.modelInfer(strict(text("1.5x")));

            SubmitJobRequest job = compressor.submitted.poll(2, TimeUnit.MINUTES);
            assertNotNull(job, "the strict request asked for the tier's job");
            assertEquals(BGE, job.getModel());
            assertEquals(List.of("1.5x"), job.getTiersList());
            assertEquals(Pooling.POOLING_CLS, job.getPooling(), "the text model's pooling travels with the job");
            assertTrue(job.getNormalize(), "and its normalisation");
            assertEquals(List.of(Precision.PRECISION_FLOAT32, Precision.PRECISION_INT8), job.getPrecisionsList(),
                    "the configured precisions travel with the job");

            // Same channel, so the same connection and event loop: answered while the submission hangs.
            assertTrue(gateway.stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
            assertFalse(strict.isDone(), "the strict request still waits for its job's id, off the event loop");

            // A deadline (the protocol's timeout parameter, 0.2 s) bounds the wait; the job is not submitted twice.
            StatusRuntimeException bounded = assertThrows(StatusRuntimeException.class, () -> gateway.stub()
                    .modelInfer(strict(text("1.5x")).toBuilder().putParameters("timeout",
                            InferParameter.newBuilder().setInt64Param(200_000).build()).build()));
            assertEquals(Status.Code.UNAVAILABLE, bounded.getStatus().getCode());
            assertTrue(bounded.getStatus().getDescription().contains("being submitted"), bounded.getStatus().toString());
            assertFalse(strict.isDone());

            compressor.release();
            ExecutionException refused = assertThrows(ExecutionException.class, strict::get);
            Status status = ((StatusRuntimeException) refused.getCause()).getStatus();
            assertEquals(Status.Code.UNAVAILABLE, status.getCode());
            assertTrue(status.getDescription().contains("job job-fake-1"), status.toString());
            assertNull(compressor.submitted.poll(), "one job for the tier however many requests asked");

            // A tensor request for a missing tier is served by exact now; its job carries the pooling of the text
            // model served over the same ONNX model.
            ModelInferResponse degraded = gateway.stub().modelInfer(tensor("2x"));
            assertEquals("exact", degraded.getParametersOrThrow("tier").getStringParam());
            assertEquals("2x", degraded.getParametersOrThrow("degraded_from").getStringParam());
            SubmitJobRequest second = compressor.submitted.poll(2, TimeUnit.MINUTES);
            assertNotNull(second, "the degraded request started the 2x job");
            assertEquals(List.of("2x"), second.getTiersList());
            assertEquals(Pooling.POOLING_CLS, second.getPooling());
        }
    }

    private static ModelInferRequest strict(ModelInferRequest request) {
        return request.toBuilder().putParameters("strict_tier", InferParameter.newBuilder().setBoolParam(true).build())
                .build();
    }

    private static ModelInferRequest text(String tier) {
        return ModelInferRequest.newBuilder().setModelName(BGE_TEXT)
                .putParameters("tier", InferParameter.newBuilder().setStringParam(tier).build())
                .addInputs(InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES").addShape(1)
                        .setContents(InferTensorContents.newBuilder().addBytesContents(ByteString.copyFromUtf8("hi"))))
                .build();
    }

    private static ModelInferRequest tensor(String tier) {
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(BGE)
                .putParameters("tier", InferParameter.newBuilder().setStringParam(tier).build());
        long[][] inputs = {{101, 7592, 102}, {1, 1, 1}, {0, 0, 0}};
        String[] names = {"input_ids", "attention_mask", "token_type_ids"};
        for (int i = 0; i < names.length; i++) {
            InferTensorContents.Builder contents = InferTensorContents.newBuilder();
            for (long v : inputs[i]) {
                contents.addInt64Contents(v);
            }
            request.addInputs(InferInputTensor.newBuilder().setName(names[i]).setDatatype("INT64").addShape(1)
                    .addShape(3).setContents(contents));
        }
        return request.build();
    }
}
