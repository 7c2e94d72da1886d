package dev.tierserve.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** A variant's model file for the store's tests: the store never parses a model, so any bytes do. */
record TestModelFile(byte[] bytes) implements ModelFileWriter {

    static TestModelFile random(int size) {
        byte[] bytes = new byte[size];
        new Random(size).nextBytes(bytes);
        return new TestModelFile(bytes);
    }

    @Override
    public void writeTo(Path file) throws IOException {
        Files.write(file, bytes);
    }
}
