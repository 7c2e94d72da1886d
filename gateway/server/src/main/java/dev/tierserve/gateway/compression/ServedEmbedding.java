package dev.tierserve.gateway.compression;

import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.text.TextEmbedder;
import dev.tierserve.proto.compressor.Pooling;
import java.util.Optional;

/**
 * How a model's embeddings reach clients, sent with every job so that a variant's quality is measured on that
 * embedding: the requested text model's pooling and normalisation, else those of the text model the repository
 * serves over the same ONNX model, else unspecified (the planner's default).
 */
record ServedEmbedding(Pooling pooling, boolean normalize) {

    static final ServedEmbedding UNSPECIFIED = new ServedEmbedding(Pooling.POOLING_UNSPECIFIED, false);

    static ServedEmbedding of(ModelEntry requested, ModelRepository repository) {
        Optional<ModelEntry> text = requested.kind() == ModelKind.TEXT_EMBEDDING ? Optional.of(requested)
                : repository.textModelOver(requested.name());
        return text.map(model -> new ServedEmbedding(switch (TextEmbedder.pooling(model)) {
            case CLS -> Pooling.POOLING_CLS;
            case MEAN -> Pooling.POOLING_MEAN;
        }, TextEmbedder.normalize(model))).orElse(UNSPECIFIED);
    }
}
