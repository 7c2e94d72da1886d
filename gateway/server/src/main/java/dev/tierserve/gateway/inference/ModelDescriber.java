package dev.tierserve.gateway.inference;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.TensorInfo;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.gateway.runtime.ExecutionProvider;
import dev.tierserve.gateway.runtime.LoadedSession;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.tensor.Datatype;
import dev.tierserve.gateway.text.TextEmbedder;
import dev.tierserve.gateway.tier.TierRouter;
import dev.tierserve.proto.inference.ModelConfig;
import dev.tierserve.proto.inference.ModelInput;
import dev.tierserve.proto.inference.ModelInstanceGroup;
import dev.tierserve.proto.inference.ModelMetadataResponse;
import dev.tierserve.proto.inference.ModelMetadataResponse.TensorMetadata;
import dev.tierserve.proto.inference.ModelOutput;
import dev.tierserve.proto.inference.ModelParameter;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/** ModelMetadata and ModelConfig of a model, from its config and the inputs and outputs of its loaded session. */
@ApplicationScoped
class ModelDescriber {

    private final TierRouter tiers;
    private final OnnxRuntimeFactory runtime;
    private final int workers;
    private final int maxBatchSize;

    ModelDescriber(TierRouter tiers, OnnxRuntimeFactory runtime, InferenceExecutor executor, GatewayConfig config) {
        this.tiers = tiers;
        this.runtime = runtime;
        this.workers = executor.workerCount();
        this.maxBatchSize = config.inference().maxBatchSize();
    }

    ModelMetadataResponse metadata(ModelEntry model, LoadedSession session) {
        ModelMetadataResponse.Builder metadata = ModelMetadataResponse.newBuilder()
                .setName(model.name())
                .addAllVersions(tiers.tiers(model))
                .setPlatform(platform(model));
        inputs(model, session).forEach(metadata::addInputs);
        outputs(model, session).forEach(metadata::addOutputs);
        return metadata.build();
    }

    /** Triton's convention: with max_batch_size > 0 the dims leave out the batch dimension. */
    ModelConfig config(ModelEntry model, LoadedSession session) {
        ModelConfig.Builder config = model.config().toBuilder()
                .setPlatform(platform(model))
                .setBackend(model.kind() == ModelKind.TEXT_EMBEDDING ? "text-embedding" : "onnxruntime")
                .setRuntime("onnxruntime " + runtime.environment().getVersion())
                .setMaxBatchSize(BatchPolicy.of(model, maxBatchSize).maxRows())
                .clearInput()
                .clearOutput()
                .clearInstanceGroup()
                .addInstanceGroup(ModelInstanceGroup.newBuilder()
                        .setCount(workers)
                        .setKind(runtime.provider() == ExecutionProvider.CUDA
                                ? ModelInstanceGroup.Kind.KIND_GPU : ModelInstanceGroup.Kind.KIND_CPU))
                .putParameters("tiers", parameter(String.join(",", tiers.tiers(model))))
                .putParameters("execution_provider", parameter(runtime.provider().name().toLowerCase()))
                .putParameters("intra_op_threads", parameter(Integer.toString(runtime.intraOpThreads())));
        if (model.kind() == ModelKind.ONNX && model.config().getDefaultModelFilename().isEmpty()) {
            config.setDefaultModelFilename(ModelEntry.DEFAULT_MODEL_FILENAME);
        }
        for (TensorMetadata input : inputs(model, session)) {
            config.addInput(ModelInput.newBuilder().setName(input.getName())
                    .setDataType(Datatype.valueOf(input.getDatatype()).configType())
                    .addAllDims(input.getShapeList().subList(1, input.getShapeCount())));
        }
        for (TensorMetadata output : outputs(model, session)) {
            config.addOutput(ModelOutput.newBuilder().setName(output.getName())
                    .setDataType(Datatype.valueOf(output.getDatatype()).configType())
                    .addAllDims(output.getShapeList().subList(1, output.getShapeCount())));
        }
        return config.build();
    }

    private static String platform(ModelEntry model) {
        return model.kind() == ModelKind.TEXT_EMBEDDING ? "text-embedding" : "onnxruntime_onnx";
    }

    private static List<TensorMetadata> inputs(ModelEntry model, LoadedSession session) {
        if (model.kind() == ModelKind.TEXT_EMBEDDING) {
            return List.of(tensor(TextEmbedder.INPUT, Datatype.BYTES, new long[] {-1}));
        }
        return describe(session.inputs());
    }

    private static List<TensorMetadata> outputs(ModelEntry model, LoadedSession session) {
        if (model.kind() == ModelKind.TEXT_EMBEDDING) {
            long[] hidden = ((TensorInfo) session.outputs().get("last_hidden_state").getInfo()).getShape();
            return List.of(tensor(TextEmbedder.OUTPUT, Datatype.FP32, new long[] {-1, hidden[hidden.length - 1]}));
        }
        return describe(session.outputs());
    }

    private static List<TensorMetadata> describe(Map<String, NodeInfo> nodes) {
        return nodes.values().stream().map(node -> {
            TensorInfo info = (TensorInfo) node.getInfo();
            return tensor(node.getName(), Datatype.of(info.onnxType), info.getShape());
        }).toList();
    }

    private static TensorMetadata tensor(String name, Datatype datatype, long[] shape) {
        TensorMetadata.Builder tensor = TensorMetadata.newBuilder().setName(name).setDatatype(datatype.name());
        Arrays.stream(shape).forEach(tensor::addShape);
        return tensor.build();
    }

    private static ModelParameter parameter(String value) {
        return ModelParameter.newBuilder().setStringValue(value).build();
    }
}
