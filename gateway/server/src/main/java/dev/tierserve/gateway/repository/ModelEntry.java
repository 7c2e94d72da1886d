package dev.tierserve.gateway.repository;

import dev.tierserve.proto.inference.ModelConfig;
import dev.tierserve.proto.inference.ModelParameter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One indexed model folder.
 *
 * @param name      the model's name, as clients address it
 * @param directory its folder in the repository
 * @param config    its {@code config.pbtxt}, or defaults when the folder has none
 * @param kind      how it is served
 */
public record ModelEntry(String name, Path directory, ModelConfig config, ModelKind kind) {

    public static final String DEFAULT_MODEL_FILENAME = "model.onnx";
    public static final String TOKENIZER_FILENAME = "tokenizer.json";

    /** The model whose ONNX session serves this one: itself, or a text model's base model. */
    public String sessionKey() {
        return kind == ModelKind.TEXT_EMBEDDING ? requiredParameter("base_model") : name;
    }

    public Path onnxFile() {
        String file = config.getDefaultModelFilename().isEmpty() ? DEFAULT_MODEL_FILENAME : config.getDefaultModelFilename();
        return directory.resolve(file);
    }

    /** The tiers' latency objectives declared in the config (see {@link LatencyObjective}). */
    public List<LatencyObjective> objectives() {
        List<LatencyObjective> objectives = new ArrayList<>();
        config.getParametersMap().forEach((key, value) -> {
            if (key.startsWith(LatencyObjective.PARAMETER_PREFIX)) {
                objectives.add(LatencyObjective.parse(key.substring(LatencyObjective.PARAMETER_PREFIX.length()),
                        value.getStringValue()));
            }
        });
        return objectives;
    }

    public String parameter(String key, String fallback) {
        ModelParameter value = config.getParametersMap().get(key);
        return value == null || value.getStringValue().isEmpty() ? fallback : value.getStringValue();
    }

    public String requiredParameter(String key) {
        String value = parameter(key, null);
        if (value == null) {
            throw new IllegalStateException("model " + name + ": config.pbtxt lacks parameter '" + key + "'");
        }
        return value;
    }
}
