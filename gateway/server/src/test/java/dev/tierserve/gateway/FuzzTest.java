package dev.tierserve.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import dev.tierserve.proto.inference.ServerReadyRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Hostile input: 10,000 generated malformed requests against the running gateway (its real gRPC port), seeded so a
 * failure reproduces. Names, versions, datatypes, shapes (negative, zero, huge, overflowing), typed and raw contents
 * (mixed, truncated, oversized, invalid UTF-8), parameters and requested outputs are drawn at random around what the
 * models accept. Every answer is a response or a status other than INTERNAL or UNKNOWN, a shape whose element count
 * overflows is INVALID_ARGUMENT, the server stays ready and serves a good request afterwards, and the heap it ends
 * with is within a bound of the one it started with.
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class FuzzTest extends ConnectedGatewayTest {

    private static final long SEED = 20261201L;
    private static final int REQUESTS = 10_000;
    /** What the heap may grow by over the run, after a GC at each end: far below one leaked request per call. */
    private static final long HEAP_GROWTH_BOUND = 256L << 20;
    /** The test profile's quarkus.grpc.server.max-inbound-message-size: larger requests are RESOURCE_EXHAUSTED. */
    private static final int MESSAGE_LIMIT = 4 << 20;

    private static final List<String> MODELS = List.of(TestModels.MINILM, TestModels.MINILM, TestModels.MINILM_TEXT,
            TestModels.CORRUPT, "", "no-such-model", "../../etc/passwd", "minilm/../all-minilm-l6-v2", "\u0000",
            "x".repeat(10_000), "模型");
    private static final List<String> VERSIONS = List.of("", "", "exact", "auto", "1.5x", "2x", "0x", "-2x", "NaNx",
            "1e309x", "1x", "latest", "../variant", "v" + "9".repeat(400));
    private static final List<String> DATATYPES = List.of("INT64", "INT64", "INT32", "BYTES", "FP32", "FP16", "BF16",
            "FP64", "BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "", "FP128", "int64", "STRING");
    private static final List<String> INPUTS = List.of("input_ids", "attention_mask", "token_type_ids", "TEXT", "",
            "input_ids ", "EMBEDDING", "last_hidden_state");
    private static final long[] DIMENSIONS = {-1, -2, 0, 1, 1, 2, 3, 4, 8, 16, 64, 513, 4096, 1L << 31, 1L << 32,
            1L << 62, Long.MAX_VALUE, Long.MIN_VALUE};
    private static final List<String> PARAMETERS = List.of("tier", "strict_tier", "timeout", "priority", "routing_key",
            "sequence_id", "binary_data_output", "", "\u0000", "tier ");

    @Test
    void tenThousandMalformedRequestsGetAnswersOrCleanStatusesAndTheServerStaysUp() throws Exception {
        Random random = new Random(SEED);
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        memory.gc();
        long heapBefore = memory.getHeapMemoryUsage().getUsed();
        long directBefore = directBytes();
        Map<Status.Code, Integer> answers = new EnumMap<>(Status.Code.class);
        int overflowing = 0;
        int oversized = 0;
        for (int i = 0; i < REQUESTS; i++) {
            ModelInferRequest request = request(random);
            Status.Code code;
            try {
                client.stub.withDeadlineAfter(60, TimeUnit.SECONDS).modelInfer(request);
                code = Status.Code.OK;
            } catch (StatusRuntimeException e) {
                code = e.getStatus().getCode();
                int index = i;
                assertTrue(code != Status.Code.INTERNAL && code != Status.Code.UNKNOWN,
                        () -> "request " + index + " (seed " + SEED + ") got " + e.getStatus() + ": " + brief(request));
            }
            answers.merge(code, 1, Integer::sum);
            if (request.getSerializedSize() > MESSAGE_LIMIT) {
                // grpc-java's client keeps the unsent frames of a request the server refused for its size until
                // the channel closes (about 25 MB each, measured: the JDK's direct pool fell back when the channel
                // closed). That is the test client's memory, not the gateway's: a new channel after each one.
                client.close();
                client = new GatewayTestClient();
                oversized++;
            }
            if (overflows(request) && MODELS.subList(0, 3).contains(request.getModelName())
                    && request.getModelVersion().isEmpty() && request.getSerializedSize() < MESSAGE_LIMIT) {
                overflowing++;
                int index = i;
                assertEquals(Status.Code.INVALID_ARGUMENT, code, () -> "an overflowing shape, request " + index + ": "
                        + brief(request));
            }
        }
        System.out.printf("fuzz: %d requests (seed %d), answers by status %s, %d with overflowing shapes, %d over "
                + "the message limit%n", REQUESTS, SEED, answers, overflowing, oversized);
        assertTrue(overflowing > 0, "the run tried overflowing shapes");
        assertTrue(oversized > 0, "the run tried requests over the message limit");
        assertTrue(answers.getOrDefault(Status.Code.INVALID_ARGUMENT, 0) > REQUESTS / 4, answers.toString());
        assertTrue(answers.getOrDefault(Status.Code.OK, 0) > REQUESTS / 100, "some answers are results: " + answers);

        assertTrue(client.stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
        assertEquals(TestModels.MINILM, client.stub.modelInfer(GatewayTestClient.bertRequest(TestModels.MINILM, 1,
                8, 1).build()).getModelName());
        memory.gc();
        long growth = memory.getHeapMemoryUsage().getUsed() - heapBefore;
        long directGrowth = directBytes() - directBefore;
        System.out.printf("fuzz: after GC, heap %+d MiB and direct buffers %+d MiB over the run%n", growth >> 20,
                directGrowth >> 20);
        assertTrue(growth < HEAP_GROWTH_BOUND, "heap grew by " + (growth >> 20) + " MiB");
        assertTrue(directGrowth < HEAP_GROWTH_BOUND, "direct buffers grew by " + (directGrowth >> 20) + " MiB");
    }

    /** The JDK's direct buffers in use: where decoded tensors live until ONNX Runtime has read them. */
    private static long directBytes() {
        return ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(pool -> pool.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
    }

    /** A quarter of the requests are a valid request changed in one place; the rest are generated from nothing. */
    private static ModelInferRequest request(Random random) {
        return random.nextInt(4) == 0 ? mutated(random) : generated(random);
    }

    /**
     * A valid MiniLM request (typed or raw) with one thing changed: a token id out of the vocabulary or negative, a
     * mask of junk, one dimension off, an input dropped or renamed or retyped, or nothing at all.
     */
    private static ModelInferRequest mutated(Random random) {
        int batch = 1 + random.nextInt(2);
        int sequence = 1 + random.nextInt(16);
        ModelInferRequest.Builder request = GatewayTestClient.bertRequest(TestModels.MINILM, batch, sequence,
                random.nextLong());
        InferInputTensor.Builder input = request.getInputsBuilder(random.nextInt(3));
        int element = random.nextInt(batch * sequence);
        switch (random.nextInt(7)) {
            case 0 -> input.getContentsBuilder().setInt64Contents(element, pickLong(random,
                    new long[] {-1, 30_522, 1L << 40, Long.MIN_VALUE, Long.MAX_VALUE}));
            case 1 -> input.getContentsBuilder().setInt64Contents(element, random.nextLong());
            case 2 -> input.setShape(random.nextInt(input.getShapeCount()), DIMENSIONS[random.nextInt(DIMENSIONS.length)]);
            case 3 -> request.removeInputs(random.nextInt(3));
            case 4 -> input.setName(pick(random, INPUTS));
            case 5 -> input.setDatatype(pick(random, DATATYPES));
            default -> { } // unchanged: the gateway must also answer what is right amid the noise
        }
        if (random.nextInt(3) == 0) {
            request.putParameters(pick(random, PARAMETERS), parameter(random));
        }
        return request.build();
    }

    private static ModelInferRequest generated(Random random) {
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder()
                .setModelName(pick(random, MODELS)).setModelVersion(random.nextInt(4) == 0 ? pick(random, VERSIONS) : "");
        if (random.nextInt(8) == 0) {
            request.setId(random.nextBoolean() ? "x".repeat(random.nextInt(100_000)) : junk(random, 20));
        }
        int inputs = random.nextInt(5);
        boolean raw = random.nextInt(3) == 0;
        for (int i = 0; i < inputs; i++) {
            String datatype = pick(random, DATATYPES);
            long[] shape = shape(random);
            InferInputTensor.Builder input = InferInputTensor.newBuilder().setName(pick(random, INPUTS))
                    .setDatatype(datatype);
            for (long dimension : shape) {
                input.addShape(dimension);
            }
            int count = elements(random, shape);
            if (raw || random.nextInt(10) == 0) {
                // Raw bytes: the right length for the datatype, or cut short, or one byte too many.
                int width = datatype.equals("INT64") || datatype.equals("FP64") ? 8 : 4;
                int length = Math.max(0, count * width + (random.nextInt(3) - 1) * random.nextInt(width + 1));
                request.addRawInputContents(ByteString.copyFrom(bytes(random, length)));
            }
            if (!raw || random.nextInt(10) == 0) {
                input.setContents(contents(random, datatype, count));
            }
            if (random.nextInt(10) == 0) {
                input.putParameters(pick(random, PARAMETERS), parameter(random));
            }
            request.addInputs(input);
        }
        if (random.nextInt(40) == 0) { // over the message limit, by a little
            request.addInputs(InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES").addShape(5)
                    .setContents(InferTensorContents.newBuilder().addAllBytesContents(
                            Collections.nCopies(5, ByteString.copyFrom(bytes(random, 1 << 20))))));
        }
        int parameters = random.nextInt(3);
        for (int i = 0; i < parameters; i++) {
            request.putParameters(pick(random, PARAMETERS), parameter(random));
        }
        if (random.nextInt(6) == 0) {
            request.addOutputsBuilder().setName(random.nextBoolean() ? "last_hidden_state" : junk(random, 12));
        }
        return request.build();
    }

    private static long[] shape(Random random) {
        long[] shape = new long[random.nextInt(5)];
        for (int i = 0; i < shape.length; i++) {
            shape[i] = random.nextInt(5) == 0 ? random.nextInt(1000) - 10 : DIMENSIONS[random.nextInt(DIMENSIONS.length)];
        }
        return shape;
    }

    /** How many elements to send: the shape's count when small, else a few (the count cannot be sent anyway). */
    private static int elements(Random random, long[] shape) {
        long count = 1;
        for (long dimension : shape) {
            if (dimension < 0 || (dimension > 0 && count > 4096 / dimension)) {
                return random.nextInt(16);
            }
            count *= dimension;
        }
        return Math.max(0, (int) count + (random.nextInt(4) == 0 ? random.nextInt(3) - 1 : 0));
    }

    private static InferTensorContents contents(Random random, String datatype, int count) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        String as = random.nextInt(5) == 0 ? pick(random, DATATYPES) : datatype; // sometimes the wrong field
        for (int i = 0; i < count; i++) {
            switch (as) {
                case "INT64" -> contents.addInt64Contents(random.nextInt(5) == 0 ? random.nextLong()
                        : random.nextInt(30_522));
                case "INT32", "INT8", "INT16" -> contents.addIntContents(random.nextInt());
                case "UINT8", "UINT16", "UINT32" -> contents.addUintContents(random.nextInt());
                case "UINT64" -> contents.addUint64Contents(random.nextLong());
                case "FP32", "FP16", "BF16" -> contents.addFp32Contents(random.nextInt(6) == 0 ? Float.NaN
                        : random.nextFloat());
                case "FP64" -> contents.addFp64Contents(random.nextDouble());
                case "BOOL" -> contents.addBoolContents(random.nextBoolean());
                default -> contents.addBytesContents(ByteString.copyFrom(random.nextInt(4) == 0
                        ? bytes(random, i == 0 && random.nextInt(8) == 0 ? 1 << 20 : 16) // invalid UTF-8, some 1 MiB
                        : ("a text " + i).getBytes(StandardCharsets.UTF_8)));
            }
        }
        return contents.build();
    }

    private static InferParameter parameter(Random random) {
        InferParameter.Builder parameter = InferParameter.newBuilder();
        return switch (random.nextInt(6)) {
            case 0 -> parameter.setBoolParam(random.nextBoolean()).build();
            case 1 -> parameter.setInt64Param(random.nextBoolean() ? random.nextLong() : Long.MIN_VALUE).build();
            case 2 -> parameter.setDoubleParam(random.nextBoolean() ? Double.NaN : -random.nextDouble() * 1e300)
                    .build();
            case 3 -> parameter.setUint64Param(random.nextLong()).build();
            case 4 -> parameter.setStringParam(pick(random, VERSIONS)).build();
            default -> parameter.setStringParam(junk(random, random.nextInt(8) == 0 ? 100_000 : 10)).build();
        };
    }

    private static boolean overflows(ModelInferRequest request) {
        for (InferInputTensor input : request.getInputsList()) {
            long count = 1;
            for (long dimension : input.getShapeList()) {
                if (dimension < 0) {
                    break;
                }
                try {
                    count = Math.multiplyExact(count, dimension);
                } catch (ArithmeticException e) {
                    return input.getShapeList().stream().allMatch(d -> d >= 0);
                }
            }
        }
        return false;
    }

    private static byte[] bytes(Random random, int length) {
        byte[] bytes = new byte[length];
        random.nextBytes(bytes);
        return bytes;
    }

    private static String junk(Random random, int length) {
        StringBuilder text = new StringBuilder(length);
        for (int i = 0; i < length; i++) {
            text.appendCodePoint(random.nextInt(3) == 0 ? random.nextInt(0x2FFF) : 'a' + random.nextInt(26));
        }
        return text.toString();
    }

    private static long pickLong(Random random, long[] values) {
        return values[random.nextInt(values.length)];
    }

    private static <T> T pick(Random random, List<T> values) {
        return values.get(random.nextInt(values.size()));
    }

    private static String brief(ModelInferRequest request) {
        String text = request.toString();
        text = text.substring(0, Math.min(text.length(), 2000)).replaceAll("\\s+", " ");
        return text.length() > 600 ? text.substring(0, 600) + "…" : text;
    }
}
