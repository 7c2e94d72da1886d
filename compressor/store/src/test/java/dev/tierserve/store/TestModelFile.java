package dev.tierserve.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/**
 * A variant's model file for the store's tests, with an external data file beside it when {@code data} is not null:
 * the store never parses a model, so any bytes do.
 */
record TestModelFile(byte[] bytes, byte[] data) implements ModelFileWriter {

    static TestModelFile random(int size) {
        return new TestModelFile(random(size, 1), null);
    }

    /** A model file and its external data, as the project's writer leaves a model over 2 GB (here a small one). */
    static TestModelFile randomWithData(int size, int dataSize) {
        return new TestModelFile(random(size, 2), random(dataSize, 3));
    }

    @Override
    public void writeTo(Path file) throws IOException {
        Files.write(file, bytes);
        if (data != null) {
            Files.write(file.resolveSibling(StoredVariant.DATA_FILE), data);
        }
    }

    private static byte[] random(int size, long seed) {
        byte[] bytes = new byte[size];
        new Random(seed * 31 + size).nextBytes(bytes);
        return bytes;
    }
}
