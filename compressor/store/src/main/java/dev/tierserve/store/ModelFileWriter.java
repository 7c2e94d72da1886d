package dev.tierserve.store;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Writes a variant's model file where the store asks for it. The store never parses a model: it hashes, moves and
 * uploads the bytes this writes.
 */
@FunctionalInterface
public interface ModelFileWriter {

    void writeTo(Path file) throws IOException;
}
