package dev.tierserve.gateway.inference;

import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession.RunOptions;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.tensor.OutputEncoder;
import dev.tierserve.gateway.tensor.TensorDecoder;
import dev.tierserve.gateway.text.TextEmbedder;
import dev.tierserve.gateway.tier.TierRoute;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Deadline;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;

/** Serves a text model: BYTES sentences in ({@code TEXT}), FP32 [n, width] embeddings out ({@code EMBEDDING}). */
@ApplicationScoped
class TextModelRunner implements ModelRunner {

    private final TextEmbedder embedder;
    private final ModelRepository repository;
    private final int maxBatchSize;

    TextModelRunner(TextEmbedder embedder, ModelRepository repository, GatewayConfig config) {
        this.embedder = embedder;
        this.repository = repository;
        this.maxBatchSize = config.inference().maxBatchSize();
    }

    @Override
    public ModelInferResponse.Builder infer(ModelEntry model, TierRoute route, ModelInferRequest request,
                                            RunOptions runOptions, Deadline deadline, PhaseClock phases)
            throws Exception {
        for (ModelInferRequest.InferRequestedOutputTensor output : request.getOutputsList()) {
            if (!output.getName().equals(TextEmbedder.OUTPUT)) {
                throw Status.INVALID_ARGUMENT.withDescription("model has no output '" + output.getName()
                        + "'; its outputs: [" + TextEmbedder.OUTPUT + "]").asRuntimeException();
            }
        }
        List<String> sentences = embedder.sentences(TensorDecoder.decode(request), maxBatchSize);
        phases.batch(sentences.size());
        ModelEntry base = repository.require(model.sessionKey());
        TextEmbedder.Embeddings embeddings;
        try {
            embeddings = embedder.embed(model, route.sessionKey(),
                    base.directory().resolve(ModelEntry.TOKENIZER_FILENAME), sentences, runOptions, deadline,
                    phases::inputDone, phases::inferDone);
        } catch (OrtException e) {
            throw OrtErrors.toStatus(e);
        }
        ModelInferResponse.Builder response = ModelInferResponse.newBuilder();
        OutputEncoder.appendFloats(response, TextEmbedder.OUTPUT, embeddings.values(),
                new long[] {embeddings.count(), embeddings.width()}, request.getRawInputContentsCount() > 0);
        phases.outputDone();
        return response;
    }
}
