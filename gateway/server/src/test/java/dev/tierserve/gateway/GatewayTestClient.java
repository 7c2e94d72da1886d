package dev.tierserve.gateway;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import dev.tierserve.proto.inference.ServerReadyRequest;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/** A grpc-java client of the gateway under test, over the real test port, with request builders. */
public final class GatewayTestClient implements AutoCloseable {

    public static final int PORT = 9001;
    public static final String BGE = "bge-small-en-v1.5";
    public static final String BGE_TEXT = "bge-small-en-v1.5-text";

    public final ManagedChannel channel = ManagedChannelBuilder.forAddress("localhost", PORT).usePlaintext()
            .maxInboundMessageSize(64 << 20).build();
    public final GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub =
            GRPCInferenceServiceGrpc.newBlockingStub(channel);

    public GatewayTestClient awaitReady() throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()) {
            assertTrue(System.nanoTime() < until, "gateway not ready in 120 s");
            Thread.sleep(100);
        }
        return this;
    }

    /** A BERT request: [CLS] random word pieces [SEP], batch x sequence, typed int64 contents. */
    public static ModelInferRequest.Builder bertRequest(String model, int batch, int sequence, long seed) {
        long[] ids = tokenIds(batch, sequence, seed);
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(model);
        request.addInputs(int64Input("input_ids", batch, sequence, ids));
        request.addInputs(int64Input("attention_mask", batch, sequence, filled(batch * sequence, 1)));
        request.addInputs(int64Input("token_type_ids", batch, sequence, filled(batch * sequence, 0)));
        return request;
    }

    /** The same request with raw little-endian contents. */
    public static ModelInferRequest.Builder bertRawRequest(String model, int batch, int sequence, long seed) {
        ModelInferRequest.Builder typed = bertRequest(model, batch, sequence, seed);
        ModelInferRequest.Builder raw = ModelInferRequest.newBuilder().setModelName(model);
        for (InferInputTensor input : typed.getInputsList()) {
            ByteBuffer bytes = ByteBuffer.allocate(input.getContents().getInt64ContentsCount() * 8)
                    .order(ByteOrder.LITTLE_ENDIAN);
            input.getContents().getInt64ContentsList().forEach(bytes::putLong);
            raw.addInputs(input.toBuilder().clearContents());
            raw.addRawInputContents(ByteString.copyFrom(bytes.array()));
        }
        return raw;
    }

    public static long[] tokenIds(int batch, int sequence, long seed) {
        Random random = new Random(seed);
        long[] ids = new long[batch * sequence];
        for (int b = 0; b < batch; b++) {
            for (int t = 0; t < sequence; t++) {
                // 101 = [CLS], 102 = [SEP]; 2000..29999 are ordinary word pieces of the BERT vocabulary.
                ids[b * sequence + t] = t == 0 ? 101 : t == sequence - 1 ? 102 : 2000 + random.nextInt(28000);
            }
        }
        return ids;
    }

    public static InferInputTensor int64Input(String name, int batch, int sequence, long[] values) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        for (long value : values) {
            contents.addInt64Contents(value);
        }
        return InferInputTensor.newBuilder().setName(name).setDatatype("INT64").addShape(batch).addShape(sequence)
                .setContents(contents).build();
    }

    public static ModelInferRequest textRequest(String... sentences) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        for (String sentence : sentences) {
            contents.addBytesContents(ByteString.copyFromUtf8(sentence));
        }
        return ModelInferRequest.newBuilder().setModelName(BGE_TEXT)
                .addInputs(InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES")
                        .addShape(sentences.length).setContents(contents))
                .build();
    }

    public static InferParameter string(String value) {
        return InferParameter.newBuilder().setStringParam(value).build();
    }

    public static long[] filled(int count, long value) {
        long[] values = new long[count];
        java.util.Arrays.fill(values, value);
        return values;
    }

    /**
     * Waits for a count the gateway reports to reach {@code expected}: events, not time, decide; the two-minute
     * bound only keeps a broken gateway from hanging the build.
     */
    public static void awaitCount(java.util.function.IntSupplier count, int expected, String what)
            throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (count.getAsInt() != expected) {
            assertTrue(System.nanoTime() < until, what + ": count " + count.getAsInt() + ", expected " + expected);
            Thread.sleep(5);
        }
    }

    /** Runs {@code call}, expecting it to fail with {@code code}; returns the status description. */
    public static String failure(Status.Code code, Runnable call) {
        try {
            call.run();
        } catch (StatusRuntimeException e) {
            if (e.getStatus().getCode() != code) {
                throw new AssertionError("expected " + code + " but got " + e.getStatus(), e);
            }
            return e.getStatus().getDescription();
        }
        throw new AssertionError("expected " + code + " but the call succeeded");
    }

    @Override
    public void close() throws InterruptedException {
        channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
}
