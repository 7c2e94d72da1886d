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
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
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
@Tag("fuzz") // not in CI yet: it exhausts the gateway's direct memory (see README, "Security", Not yet)
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
        Map<Status.Code, Integer> answers = new EnumMap<>(Status.Code.class);
        int overflowing = 0;
        for (int i = 0; i < REQUESTS; i++) {
            ModelInferRequest request = request(random);
            Status.Code code;
            try {
                client.stub.withDeadlineAfter(60, TimeUnit.SECONDS).modelInfer(request);
                code = Status.Code.OK;
            } catch (StatusRuntimeException e) {
                code = e.getStatus().getCode();
                assertTrue(code != Status.Code.INTERNAL && code != Status.Code.UNKNOWN,
                        "request " + i + " (seed " + SEED + ") got " + e.getStatus() + ": " + brief(request));
            }
            answers.merge(code, 1, Integer::sum);
            if (overflows(request) && MODELS.subList(0, 3).contains(request.getModelName())
                    && request.getModelVersion().isEmpty() && request.getSerializedSize() < MESSAGE_LIMIT) {
                overflowing++;
                assertEquals(Status.Code.INVALID_ARGUMENT, code, "an overflowing shape, request " + i + ": "
                        + brief(request));
            }
        }
        System.out.printf("fuzz: %d requests (seed %d), answers by status %s, %d with overflowing shapes%n",
                REQUESTS, SEED, answers, overflowing);
        assertTrue(overflowing > 0, "the run tried overflowing shapes");
        assertTrue(answers.getOrDefault(Status.Code.INVALID_ARGUMENT, 0) > REQUESTS / 4, answers.toString());

        assertTrue(client.stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
        assertEquals(TestModels.MINILM, client.stub.modelInfer(GatewayTestClient.bertRequest(TestModels.MINILM, 1,
                8, 1).build()).getModelName());
        memory.gc();
        long growth = memory.getHeapMemoryUsage().getUsed() - heapBefore;
        System.out.printf("fuzz: heap after GC %+d MiB over the run%n", growth >> 20);
        assertTrue(growth < HEAP_GROWTH_BOUND, "heap grew by " + (growth >> 20) + " MiB");
    }

    private static ModelInferRequest request(Random random) {
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
                        ? bytes(random, random.nextInt(8) == 0 ? 1 << 20 : 16) // invalid UTF-8, sometimes 1 MiB
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

    private static <T> T pick(Random random, List<T> values) {
        return values.get(random.nextInt(values.size()));
    }

    private static String brief(ModelInferRequest request) {
        String text = request.toString().replaceAll("\\s+", " ");
        return text.length() > 600 ? text.substring(0, 600) + "…" : text;
    }
}
