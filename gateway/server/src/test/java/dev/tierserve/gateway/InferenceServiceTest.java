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

import dev.tierserve.proto.inference.DataType;
import dev.tierserve.proto.inference.ModelConfig;
import dev.tierserve.proto.inference.ModelConfigRequest;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ModelMetadataRequest;
import dev.tierserve.proto.inference.ModelMetadataResponse;
import dev.tierserve.proto.inference.ModelReadyRequest;
import dev.tierserve.proto.inference.ModelStatistics;
import dev.tierserve.proto.inference.ModelStatisticsRequest;
import dev.tierserve.proto.inference.RepositoryIndexRequest;
import dev.tierserve.proto.inference.RepositoryIndexResponse;
import dev.tierserve.proto.inference.RepositoryModelLoadRequest;
import dev.tierserve.proto.inference.ServerLiveRequest;
import dev.tierserve.proto.inference.ServerMetadataRequest;
import dev.tierserve.proto.inference.ServerMetadataResponse;
import grpc.health.v1.HealthGrpc;
import grpc.health.v1.HealthOuterClass.HealthCheckRequest;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.grpc.Status;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every implemented RPC of the inference protocol, over the real gRPC port. */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class InferenceServiceTest extends ConnectedGatewayTest {


    @Test
    void liveReadyAndHealthServing() {
        assertTrue(client.stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
        HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(client.channel);
        assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.newBuilder().build()).getStatus());
        assertEquals(ServingStatus.SERVING, health.check(HealthCheckRequest.newBuilder()
                .setService("inference.GRPCInferenceService").build()).getStatus());
    }

    @Test
    void modelReadyLoadsTheModelAndReportsCorruptOnesNotReady() {
        assertTrue(client.stub.modelReady(ModelReadyRequest.newBuilder().setName(BGE_TEXT).build()).getReady());
        assertTrue(client.stub.modelReady(ModelReadyRequest.newBuilder().setName(BGE).setVersion("exact").build())
                .getReady());
        assertFalse(client.stub.modelReady(ModelReadyRequest.newBuilder().setName(TestModels.CORRUPT).build())
                .getReady());
        failure(Status.Code.NOT_FOUND,
                () -> client.stub.modelReady(ModelReadyRequest.newBuilder().setName("no-such-model").build()));
    }

    @Test
    void serverMetadataListsTheSupportedExtensions() {
        ServerMetadataResponse metadata = client.stub.serverMetadata(ServerMetadataRequest.getDefaultInstance());
        assertEquals("tierserve", metadata.getName());
        assertTrue(metadata.getExtensionsList().containsAll(List.of("model_configuration", "statistics", "tiers")));
    }

    @Test
    void modelMetadataDescribesTheOnnxGraphAndTheTextModel() {
        ModelMetadataResponse raw = client.stub.modelMetadata(ModelMetadataRequest.newBuilder().setName(BGE).build());
        assertEquals(List.of("exact"), raw.getVersionsList());
        assertEquals("onnxruntime_onnx", raw.getPlatform());
        assertEquals(List.of("input_ids", "attention_mask", "token_type_ids"),
                raw.getInputsList().stream().map(ModelMetadataResponse.TensorMetadata::getName).sorted(
                        java.util.Comparator.comparing(List.of("input_ids", "attention_mask", "token_type_ids")::indexOf))
                        .toList());
        raw.getInputsList().forEach(input -> {
            assertEquals("INT64", input.getDatatype());
            assertEquals(List.of(-1L, -1L), input.getShapeList());
        });
        ModelMetadataResponse.TensorMetadata hidden = raw.getOutputsList().stream()
                .filter(output -> output.getName().equals("last_hidden_state")).findFirst().orElseThrow();
        assertEquals(384L, hidden.getShape(2));

        ModelMetadataResponse text = client.stub.modelMetadata(ModelMetadataRequest.newBuilder().setName(BGE_TEXT).build());
        assertEquals("BYTES", text.getInputs(0).getDatatype());
        assertEquals(List.of(-1L, 384L), text.getOutputs(0).getShapeList());
    }

    @Test
    void modelConfigReportsInputsWithoutTheBatchDimensionAndTheTiers() {
        ModelConfig config = client.stub.modelConfig(ModelConfigRequest.newBuilder().setName(BGE).build()).getConfig();
        assertEquals(BGE, config.getName());
        assertEquals("onnxruntime", config.getBackend());
        assertEquals(64, config.getMaxBatchSize());
        assertEquals(3, config.getInputCount());
        config.getInputList().forEach(input -> {
            assertEquals(DataType.TYPE_INT64, input.getDataType());
            assertEquals(List.of(-1L), input.getDimsList());
        });
        assertEquals("exact", config.getParametersOrThrow("tiers").getStringValue());
        assertEquals("cpu", config.getParametersOrThrow("execution_provider").getStringValue());
        failure(Status.Code.NOT_FOUND, () -> client.stub.modelConfig(
                ModelConfigRequest.newBuilder().setName(BGE).setVersion("3x").build()));
    }

    @Test
    void typedAndRawRequestsGiveTheSameOutputsAndEchoTheTier() {
        ModelInferResponse typed = client.stub.modelInfer(bertRequest(BGE, 2, 16, 7)
                .putParameters("tier", string("exact")).setId("req-1").build());
        ModelInferResponse raw = client.stub.modelInfer(bertRawRequest(BGE, 2, 16, 7).build());

        assertEquals("req-1", typed.getId());
        assertEquals("exact", typed.getParametersOrThrow("tier").getStringParam());
        assertEquals("parent", typed.getParametersOrThrow("variant").getStringParam());
        assertFalse(typed.getParametersOrThrow("canary").getBoolParam());
        assertEquals(0, typed.getRawOutputContentsCount());
        assertEquals(typed.getOutputsCount(), raw.getRawOutputContentsCount());

        int hidden = indexOf(typed, "last_hidden_state");
        assertEquals(List.of(2L, 16L, 384L), typed.getOutputs(hidden).getShapeList());
        List<Float> typedValues = typed.getOutputs(hidden).getContents().getFp32ContentsList();
        ByteBuffer rawValues = raw.getRawOutputContents(indexOf(raw, "last_hidden_state")).asReadOnlyByteBuffer()
                .order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(2 * 16 * 384, typedValues.size());
        assertEquals(typedValues.size() * 4, rawValues.remaining());
        for (float value : typedValues) {
            assertEquals(value, rawValues.getFloat(), 0f);
        }
    }

    @Test
    void requestedOutputsFilterTheResponse() {
        ModelInferResponse all = client.stub.modelInfer(bertRequest(BGE, 1, 8, 1).build());
        ModelInferResponse one = client.stub.modelInfer(bertRequest(BGE, 1, 8, 1)
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("last_hidden_state"))
                .build());
        assertEquals(1, one.getOutputsCount());
        assertEquals("last_hidden_state", one.getOutputs(0).getName());
        assertTrue(all.getOutputsCount() >= one.getOutputsCount());
        String message = failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 1, 8, 1)
                .addOutputs(ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("logits")).build()));
        assertTrue(message.contains("logits"), message);
    }

    @Test
    void statisticsCountRequestsAndReportTheMemoryOfLoadedVariants() {
        ModelStatistics before = statistics(BGE);
        client.stub.modelInfer(bertRequest(BGE, 3, 8, 2).build());
        failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 1, 8, 2)
                .removeInputs(0).build()));
        ModelStatistics after = statistics(BGE);

        assertEquals("exact", after.getVersion());
        assertEquals(before.getInferenceCount() + 3, after.getInferenceCount());
        assertEquals(before.getExecutionCount() + 1, after.getExecutionCount());
        assertEquals(before.getInferenceStats().getSuccess().getCount() + 1, after.getInferenceStats().getSuccess().getCount());
        assertEquals(before.getInferenceStats().getFail().getCount() + 1, after.getInferenceStats().getFail().getCount());
        assertTrue(after.getInferenceStats().getComputeInfer().getNs() > before.getInferenceStats().getComputeInfer().getNs());
        assertTrue(after.getBatchStatsList().stream().anyMatch(batch -> batch.getBatchSize() == 3));
        assertTrue(after.getLastInference() > 0);
        assertEquals(1, after.getMemoryUsageCount());
        assertEquals("CPU", after.getMemoryUsage(0).getType());
        assertTrue(after.getMemoryUsage(0).getByteSize() > 100_000_000L, "BGE-small holds about 133 MB of weights");

        List<ModelStatistics> everything = client.stub.modelStatistics(ModelStatisticsRequest.getDefaultInstance())
                .getModelStatsList();
        assertTrue(everything.stream().anyMatch(stats -> stats.getName().equals(BGE_TEXT)));
        failure(Status.Code.NOT_FOUND, () -> client.stub.modelStatistics(
                ModelStatisticsRequest.newBuilder().setName("no-such-model").build()));
    }

    @Test
    void repositoryIndexListsEveryModelWithItsState() {
        client.stub.modelReady(ModelReadyRequest.newBuilder().setName(TestModels.CORRUPT).build());
        RepositoryIndexResponse index = client.stub.repositoryIndex(RepositoryIndexRequest.getDefaultInstance());
        List<String> names = index.getModelsList().stream().map(RepositoryIndexResponse.ModelIndex::getName).toList();
        assertTrue(names.containsAll(List.of(BGE, BGE_TEXT, TestModels.MINILM, TestModels.CORRUPT)), names.toString());
        RepositoryIndexResponse.ModelIndex bge = entry(index, BGE);
        assertEquals("READY", bge.getState());
        assertEquals("exact", bge.getVersion());
        RepositoryIndexResponse.ModelIndex corrupt = entry(index, TestModels.CORRUPT);
        assertEquals("UNAVAILABLE", corrupt.getState());
        assertTrue(corrupt.getReason().contains("failed to load"), corrupt.getReason());

        RepositoryIndexResponse ready = client.stub.repositoryIndex(RepositoryIndexRequest.newBuilder().setReady(true).build());
        assertTrue(ready.getModelsList().stream().noneMatch(model -> model.getName().equals(TestModels.CORRUPT)));
    }

    @Test
    void unsupportedMethodsAnswerUnimplemented() {
        failure(Status.Code.UNIMPLEMENTED, () -> client.stub.repositoryModelLoad(
                RepositoryModelLoadRequest.newBuilder().setModelName(BGE).build()));
    }

    private static ModelStatistics statistics(String model) {
        return client.stub.modelStatistics(ModelStatisticsRequest.newBuilder().setName(model).build()).getModelStats(0);
    }

    private static RepositoryIndexResponse.ModelIndex entry(RepositoryIndexResponse index, String name) {
        return index.getModelsList().stream().filter(model -> model.getName().equals(name)).findFirst().orElseThrow();
    }

    static int indexOf(ModelInferResponse response, String output) {
        for (int i = 0; i < response.getOutputsCount(); i++) {
            if (response.getOutputs(i).getName().equals(output)) {
                return i;
            }
        }
        throw new AssertionError("no output " + output);
    }
}
