package dev.tierserve.gateway.repository;

import com.google.protobuf.TextFormat;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.proto.inference.ModelConfig;
import io.grpc.Status;
import io.quarkus.runtime.Startup;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.Collection;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.jboss.logging.Logger;

/**
 * A Triton-like model repository: a directory with one folder per model, each holding its ONNX file and a
 * {@code config.pbtxt} (Triton's ModelConfig in protobuf text format). Indexed once at start-up (installing the
 * embedded default reads and writes files: never on a gRPC thread).
 */
@Startup
@ApplicationScoped
public class ModelRepository {

    private static final Logger LOG = Logger.getLogger(ModelRepository.class);
    public static final String CONFIG_FILENAME = "config.pbtxt";

    private final Path root;
    private final Map<String, ModelEntry> models;
    private final Map<String, ModelState> states = new ConcurrentHashMap<>();

    public ModelRepository(GatewayConfig config) {
        this.root = config.repository().toAbsolutePath();
        if (config.embeddedDefault()) {
            EmbeddedDefaultModel.installInto(root);
        }
        this.models = index(root);
        LOG.infof("model repository %s: %s", root, models.keySet());
    }

    public Collection<ModelEntry> models() {
        return models.values();
    }

    /** The model named {@code name}, or NOT_FOUND naming the models that exist. */
    public ModelEntry require(String name) {
        ModelEntry entry = models.get(name);
        if (entry == null) {
            throw Status.NOT_FOUND
                    .withDescription("unknown model '" + name + "'; models: " + models.keySet())
                    .asRuntimeException();
        }
        return entry;
    }

    /** The text model served over the ONNX model {@code base}, if the repository has one (the first by name). */
    public Optional<ModelEntry> textModelOver(String base) {
        return models.values().stream()
                .filter(m -> m.kind() == ModelKind.TEXT_EMBEDDING && m.sessionKey().equals(base)).findFirst();
    }

    /** The ONNX file behind a session key (a model name). */
    public Path onnxFile(String sessionKey) {
        return require(sessionKey).onnxFile();
    }

    public ModelState state(ModelEntry entry) {
        return states.getOrDefault(entry.sessionKey(), ModelState.NOT_LOADED);
    }

    public void markLoaded(String sessionKey) {
        states.put(sessionKey, ModelState.READY);
    }

    public void markFailed(String sessionKey, String reason) {
        states.put(sessionKey, ModelState.failed(reason));
    }

    private static Map<String, ModelEntry> index(Path root) {
        Map<String, ModelEntry> found = new TreeMap<>();
        if (!Files.isDirectory(root)) {
            LOG.warnf("model repository %s does not exist; serving no models", root);
            return found;
        }
        try (Stream<Path> folders = Files.list(root)) {
            folders.filter(Files::isDirectory).sorted().forEach(folder -> {
                try {
                    ModelEntry entry = read(folder);
                    if (entry != null) {
                        found.put(entry.name(), entry);
                    }
                } catch (RuntimeException e) {
                    LOG.errorf("skipping model folder %s: %s", folder.getFileName(), e.getMessage());
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list model repository " + root, e);
        }
        for (ModelEntry entry : found.values()) {
            if (entry.kind() == ModelKind.TEXT_EMBEDDING) {
                ModelEntry base = found.get(entry.sessionKey());
                if (base == null || base.kind() != ModelKind.ONNX) {
                    throw new IllegalStateException("text model " + entry.name() + " names base model '"
                            + entry.sessionKey() + "', which is not an ONNX model of this repository");
                }
            }
        }
        return found;
    }

    private static boolean isFileName(String name) {
        try {
            Path path = Path.of(name);
            return path.getNameCount() == 1 && !path.isAbsolute() && !name.equals("..") && !name.equals(".");
        } catch (InvalidPathException e) {
            return false;
        }
    }

    /** Reads one model folder; null when the folder holds neither a config nor an ONNX file. */
    static ModelEntry read(Path folder) {
        String folderName = folder.getFileName().toString();
        Path configFile = folder.resolve(CONFIG_FILENAME);
        ModelConfig.Builder config = ModelConfig.newBuilder();
        if (Files.exists(configFile)) {
            try {
                TextFormat.merge(Files.readString(configFile, StandardCharsets.UTF_8), config);
            } catch (IOException e) {
                throw new IllegalStateException("cannot read " + configFile + ": " + e.getMessage(), e);
            }
        } else if (!Files.exists(folder.resolve(ModelEntry.DEFAULT_MODEL_FILENAME))) {
            return null;
        }
        if (!config.getName().isEmpty() && !config.getName().equals(folderName)) {
            throw new IllegalStateException("config name '" + config.getName() + "' differs from its folder '" + folderName + "'");
        }
        config.setName(folderName);
        String modelFile = config.getDefaultModelFilename();
        if (!modelFile.isEmpty() && !isFileName(modelFile)) {
            throw new IllegalStateException("default_model_filename '" + modelFile
                    + "' must name a file in the model's own folder");
        }
        ModelEntry checked = new ModelEntry(folderName, folder, config.build(), ModelKind.ONNX);
        try {
            checked.objectives(); // a malformed objective refuses the folder, naming it
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(e.getMessage(), e);
        }
        ModelKind kind = switch (config.getBackend()) {
            case "", "onnxruntime" -> ModelKind.ONNX;
            case "text-embedding" -> ModelKind.TEXT_EMBEDDING;
            default -> throw new IllegalStateException("unsupported backend '" + config.getBackend() + "'");
        };
        return new ModelEntry(folderName, folder, config.build(), kind);
    }
}
