package dev.tierserve.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.langchain4j.model.embedding.onnx.bgesmallenv15.BgeSmallEnV15EmbeddingModel;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.InferTensorContents;
import dev.tierserve.proto.inference.ModelConfigRequest;
import dev.tierserve.proto.inference.ModelConfigResponse;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferRequest.InferInputTensor;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ModelMetadataRequest;
import dev.tierserve.proto.inference.ModelMetadataResponse;
import dev.tierserve.proto.inference.ModelStatistics;
import dev.tierserve.proto.inference.ModelStatisticsRequest;
import dev.tierserve.proto.inference.RepositoryIndexRequest;
import dev.tierserve.proto.inference.RepositoryIndexResponse;
import dev.tierserve.proto.inference.ServerLiveRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged gateway as a user starts it ({@code java -jar quarkus-run.jar} in an empty directory, the embedded
 * default, no configuration), driven by the packaged client running the README's examples word for word and by a
 * grpc-java stub. The tier tests run last: the job they start compresses in the background.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PackagedGatewayIT {

    static final String BGE = "bge-small-en-v1.5";
    static final String BGE_TEXT = "bge-small-en-v1.5-text";
    static final String CLIENT_JAR = "gateway/client/target/tierserve-client.jar";
    static final List<String> SENTENCES = List.of(
            "The quick brown fox",
            "Model compression trades a little accuracy for a lot of speed.",
            "Ünïcödé, emoji 🚀 and punctuation -- all tokenised by the model's own tokenizer!");

    private PackagedGateway gateway;

    @BeforeAll
    void start(@TempDir Path home) throws Exception {
        gateway = PackagedGateway.start(home.resolve("gateway"));
    }

    @AfterAll
    void stop() {
        if (gateway != null) {
            gateway.close();
        }
    }

    @Test
    @Order(1)
    void textEmbeddingsEqualLangchain4jsTo1e5TypedAndRaw() {
        BgeSmallEnV15EmbeddingModel reference = new BgeSmallEnV15EmbeddingModel();
        ModelInferResponse typed = gateway.stub().modelInfer(textRequest(false));
        ModelInferResponse raw = gateway.stub().modelInfer(textRequest(true));
        assertEquals(List.of((long) SENTENCES.size(), 384L), typed.getOutputs(0).getShapeList());
        float[] typedValues = floats(typed, 0);
        float[] rawValues = floats(raw, 0);
        for (int row = 0; row < SENTENCES.size(); row++) {
            float[] expected = reference.embed(SENTENCES.get(row)).content().vector();
            for (int d = 0; d < 384; d++) {
                assertEquals(expected[d], typedValues[row * 384 + d], 1e-5, SENTENCES.get(row) + " [" + d + "]");
                assertEquals(typedValues[row * 384 + d], rawValues[row * 384 + d], 0.0, "raw equals typed");
            }
        }
        assertEquals("exact", typed.getParametersOrThrow("tier").getStringParam());
        assertEquals("parent", typed.getParametersOrThrow("variant").getStringParam());
    }

    @Test
    @Order(2)
    void tensorInferenceRawAndTypedAgree() {
        long[] ids = {101, 7592, 2088, 102};
        ModelInferRequest typed = ModelInferRequest.newBuilder().setModelName(BGE)
                .addInputs(int64("input_ids", ids)).addInputs(int64("attention_mask", new long[] {1, 1, 1, 1}))
                .addInputs(int64("token_type_ids", new long[4])).build();
        ModelInferRequest.Builder raw = ModelInferRequest.newBuilder().setModelName(BGE);
        for (InferInputTensor input : typed.getInputsList()) {
            raw.addInputs(input.toBuilder().clearContents());
            ByteBuffer bytes = ByteBuffer.allocate(input.getContents().getInt64ContentsCount() * 8)
                    .order(ByteOrder.LITTLE_ENDIAN);
            input.getContents().getInt64ContentsList().forEach(bytes::putLong);
            raw.addRawInputContents(ByteString.copyFrom(bytes.array()));
        }
        ModelInferResponse fromTyped = gateway.stub().modelInfer(typed);
        ModelInferResponse fromRaw = gateway.stub().modelInfer(raw.build());
        assertEquals("last_hidden_state", fromTyped.getOutputs(0).getName());
        assertEquals(List.of(1L, 4L, 384L), fromTyped.getOutputs(0).getShapeList());
        assertEquals(1, fromRaw.getRawOutputContentsCount(), "raw in, raw out");
        float[] a = floats(fromTyped, 0);
        float[] b = floats(fromRaw, 0);
        assertEquals(4 * 384, a.length);
        for (int i = 0; i < a.length; i++) {
            assertEquals(a[i], b[i], 0.0, "element " + i);
        }
    }

    @Test
    @Order(3)
    void metadataConfigStatisticsAndIndexDescribeTheEmbeddedDefault() {
        ModelMetadataResponse text = gateway.stub().modelMetadata(ModelMetadataRequest.newBuilder().setName(BGE_TEXT).build());
        assertEquals("TEXT", text.getInputs(0).getName());
        assertEquals("BYTES", text.getInputs(0).getDatatype());
        assertEquals("EMBEDDING", text.getOutputs(0).getName());
        ModelMetadataResponse tensor = gateway.stub().modelMetadata(ModelMetadataRequest.newBuilder().setName(BGE).build());
        assertEquals(List.of("attention_mask", "input_ids", "token_type_ids"),
                tensor.getInputsList().stream().map(i -> i.getName()).sorted().toList());
        assertTrue(tensor.getVersionsList().contains("exact"), tensor.getVersionsList().toString());

        ModelConfigResponse config = gateway.stub().modelConfig(ModelConfigRequest.newBuilder().setName(BGE).build());
        assertEquals(BGE, config.getConfig().getName());
        assertEquals("onnxruntime", config.getConfig().getBackend().isEmpty() ? "onnxruntime" : config.getConfig().getBackend());
        assertEquals(3, config.getConfig().getInputCount(), config.toString());

        long before = successes(BGE_TEXT);
        gateway.stub().modelInfer(textRequest(false));
        assertEquals(before + 1, successes(BGE_TEXT), "one more successful inference counted");

        RepositoryIndexResponse index = gateway.stub().repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
        Map<String, String> states = index.getModelsList().stream().filter(m -> m.getVersion().equals("exact"))
                .collect(Collectors.toMap(RepositoryIndexResponse.ModelIndex::getName,
                        RepositoryIndexResponse.ModelIndex::getState, (x, y) -> x, TreeMap::new));
        assertEquals(Map.of(BGE, "READY", BGE_TEXT, "READY"), states, index.toString());

        StatusRuntimeException unknown = assertThrows(StatusRuntimeException.class, () -> gateway.stub()
                .modelMetadata(ModelMetadataRequest.newBuilder().setName("no-such-model").build()));
        assertEquals(Status.Code.NOT_FOUND, unknown.getStatus().getCode());
    }

    @Test
    @Order(4)
    void healthAnswersOverGrpcAndHttpAndMetricsAreExported() throws Exception {
        assertTrue(gateway.stub().serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(gateway.channel())
                .withDeadlineAfter(30, TimeUnit.SECONDS);
        assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                health.check(HealthCheckRequest.newBuilder().setService("inference.GRPCInferenceService").build())
                        .getStatus());
        assertEquals(HealthCheckResponse.ServingStatus.SERVING,
                health.check(HealthCheckRequest.getDefaultInstance()).getStatus());

        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> ready = http.send(HttpRequest.newBuilder(URI.create(gateway.httpBase() + "/q/health/ready"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, ready.statusCode(), ready.body());
        assertTrue(ready.body().contains("\"UP\""), ready.body());

        gateway.stub().modelInfer(textRequest(false));
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create(gateway.httpBase() + "/q/metrics"))
                .build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, metrics.statusCode());
        assertTrue(metric(metrics.body(), "gateway_sessions_loads_total") >= 1, "a session was loaded");
        assertTrue(metrics.body().contains("gateway_sessions_loaded_bytes"), "loaded bytes are exported");
    }

    /**
     * The packaged client's load generator: a short closed-loop run mixing text and tensor requests and two tiers, its
     * JSON summary, and a mistake in one line.
     */
    @Test
    @Order(5)
    void theLoadGeneratorReportsAShortRun() throws Exception {
        PackagedClient client = new PackagedClient(gateway.grpcTarget());
        PackagedClient.Run run = client.run("load", "--model", BGE_TEXT, "--text", "The quick brown fox",
                "--tensor-model", "bge-small-en-v1.5", "--concurrency", "2", "--duration", "2", "--warmup", "0",
                "--tier", "exact", "--tier", "auto");
        assertEquals(0, run.exitCode(), run.toString());
        JsonNode summary = new ObjectMapper().readTree(run.stdout());
        long requests = summary.get("requests").asLong();
        assertTrue(requests > 0, run.stdout());
        assertEquals(requests, summary.get("statuses").get("OK").asLong(), "every request answered OK");
        assertEquals(requests, summary.get("served_tiers").get("exact").asLong(), "auto is exact with no variant");
        assertEquals(BGE_TEXT + ",bge-small-en-v1.5", summary.get("model").asText());
        assertTrue(summary.get("latency_ms").get("p99").asDouble() >= summary.get("latency_ms").get("p50").asDouble());

        PackagedClient.Run mistake = client.run("load", "--model", BGE_TEXT, "--text", "hi");
        assertEquals(2, mistake.exitCode(), mistake.toString());
        assertEquals(1, mistake.stderr().lines().count(), mistake.toString());
        assertTrue(mistake.stderr().contains("--rate"), mistake.toString());
    }

    /** README.md's client examples, word for word, printing what the README shows. */
    @Test
    @Order(10)
    void readmeClientExamplesWorkAsWritten() throws Exception {
        PackagedClient client = new PackagedClient(gateway.grpcTarget());
        List<ReadmeExamples.Example> examples = ReadmeExamples.of(CLIENT_JAR).stream()
                .filter(example -> !example.section().equals(ReadmeExamples.ROLLOUT_SECTION)).toList(); // RolloutIT's
        assertTrue(examples.size() >= 4, "the README shows text, tensor, degraded and strict examples: " + examples);
        for (ReadmeExamples.Example example : examples) {
            ReadmeExamples.assertRunsAsWritten(client, example);
        }
    }

    /** A tier with no variant is served now by exact and starts its job; with strict_tier it is refused naming it. */
    @Test
    @Order(11)
    void aMissingTierDegradesAndAStrictRequestNamesTheJob() {
        ModelInferRequest request = textRequest(false).toBuilder()
                .putParameters("tier", InferParameter.newBuilder().setStringParam("2x").build()).build();
        ModelInferResponse degraded = gateway.stub().modelInfer(request);
        assertEquals("exact", degraded.getParametersOrThrow("tier").getStringParam());
        assertEquals("2x", degraded.getParametersOrThrow("degraded_from").getStringParam());

        StatusRuntimeException strict = assertThrows(StatusRuntimeException.class, () -> gateway.stub()
                .modelInfer(request.toBuilder().putParameters("strict_tier",
                        InferParameter.newBuilder().setBoolParam(true).build()).build()));
        assertEquals(Status.Code.UNAVAILABLE, strict.getStatus().getCode());
        assertTrue(strict.getStatus().getDescription().contains("job job-"), strict.getStatus().getDescription());
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private long successes(String model) {
        ModelStatistics stats = gateway.stub().modelStatistics(ModelStatisticsRequest.newBuilder().setName(model)
                .setVersion("exact").build()).getModelStats(0);
        return stats.getInferenceStats().getSuccess().getCount();
    }

    private static ModelInferRequest textRequest(boolean raw) {
        InferInputTensor.Builder input = InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES")
                .addShape(SENTENCES.size());
        ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(BGE_TEXT);
        if (raw) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            for (String sentence : SENTENCES) {
                byte[] utf8 = sentence.getBytes(StandardCharsets.UTF_8);
                bytes.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(utf8.length).array());
                bytes.writeBytes(utf8);
            }
            request.addInputs(input).addRawInputContents(ByteString.copyFrom(bytes.toByteArray()));
        } else {
            InferTensorContents.Builder contents = InferTensorContents.newBuilder();
            SENTENCES.forEach(s -> contents.addBytesContents(ByteString.copyFromUtf8(s)));
            request.addInputs(input.setContents(contents));
        }
        return request.build();
    }

    private static InferInputTensor int64(String name, long[] values) {
        InferTensorContents.Builder contents = InferTensorContents.newBuilder();
        for (long value : values) {
            contents.addInt64Contents(value);
        }
        return InferInputTensor.newBuilder().setName(name).setDatatype("INT64").addShape(1).addShape(values.length)
                .setContents(contents).build();
    }

    private static float[] floats(ModelInferResponse response, int output) {
        if (response.getRawOutputContentsCount() > 0) {
            ByteBuffer bytes = response.getRawOutputContents(output).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
            float[] values = new float[bytes.remaining() / 4];
            bytes.asFloatBuffer().get(values);
            return values;
        }
        List<Float> list = response.getOutputs(output).getContents().getFp32ContentsList();
        float[] values = new float[list.size()];
        for (int i = 0; i < values.length; i++) {
            values[i] = list.get(i);
        }
        return values;
    }

    /** The value of an unlabelled Prometheus sample, or -1 when absent. */
    private static double metric(String exposition, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "(\\{[^}]*\\})? ([0-9.eE+-]+)$").matcher(exposition);
        return m.find() ? Double.parseDouble(m.group(2)) : -1;
    }
}
