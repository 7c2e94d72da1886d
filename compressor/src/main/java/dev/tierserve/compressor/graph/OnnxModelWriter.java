package dev.tierserve.compressor.graph;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Writes an ONNX model. A protobuf message cannot exceed 2 GB, so when the initializers are larger than
 * {@link Builder#inlineLimitBytes} (or when external data is forced) every initializer of at least
 * {@link Builder#externalThresholdBytes} goes to one data file beside the graph, {@code <model file>.data},
 * referenced by location/offset/length as ONNX's external data specification says.
 */
public final class OnnxModelWriter {

    /** Stays clear of protobuf's 2 GB message limit with room for the graph itself. */
    public static final long DEFAULT_INLINE_LIMIT = 1_800L * 1024 * 1024;

    private final long inlineLimitBytes;
    private final long externalThresholdBytes;
    private final boolean forceExternal;

    private OnnxModelWriter(Builder builder) {
        this.inlineLimitBytes = builder.inlineLimitBytes;
        this.externalThresholdBytes = builder.externalThresholdBytes;
        this.forceExternal = builder.forceExternal;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The sha256 of the model's serialised bytes: what {@link #write} writes for a model that fits inline. */
    public static String sha256(ModelProto model) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(model.toByteArray()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes inline when it fits, else with external data. */
    public static void write(ModelProto model, Path file) {
        builder().build().writeTo(model, file);
    }

    /** Returns true when the model was written with an external data file. */
    public boolean writeTo(ModelProto model, Path file) {
        boolean external = forceExternal || initializerBytes(model.getGraph()) > inlineLimitBytes;
        Path dataFile = file.resolveSibling(file.getFileName() + ".data");
        try {
            if (!external) {
                Files.deleteIfExists(dataFile);
                try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
                    model.writeTo(out);
                }
                return false;
            }
            GraphProto.Builder graph = model.getGraph().toBuilder();
            try (OutputStream data = new BufferedOutputStream(Files.newOutputStream(dataFile), 1 << 20)) {
                long offset = 0;
                for (int i = 0; i < graph.getInitializerCount(); i++) {
                    TensorProto tensor = graph.getInitializer(i);
                    ByteString raw = tensor.getRawData();
                    if (raw.size() < externalThresholdBytes || raw.isEmpty()) {
                        continue;
                    }
                    raw.writeTo(data);
                    graph.setInitializer(i, tensor.toBuilder()
                            .clearRawData()
                            .setDataLocation(TensorProto.DataLocation.EXTERNAL)
                            .addExternalData(entry("location", dataFile.getFileName().toString()))
                            .addExternalData(entry("offset", Long.toString(offset)))
                            .addExternalData(entry("length", Integer.toString(raw.size())))
                            .build());
                    offset += raw.size();
                }
            }
            try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(file), 1 << 20)) {
                model.toBuilder().setGraph(graph).build().writeTo(out);
            }
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file, e);
        }
    }

    static long initializerBytes(GraphProto graph) {
        long total = 0;
        for (TensorProto tensor : graph.getInitializerList()) {
            total += tensor.getRawData().size();
        }
        return total;
    }

    private static StringStringEntryProto entry(String key, String value) {
        return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
    }

    public static final class Builder {
        private long inlineLimitBytes = DEFAULT_INLINE_LIMIT;
        private long externalThresholdBytes = 1024;
        private boolean forceExternal;

        /** Above this many initializer bytes the model is written with external data. */
        public Builder inlineLimitBytes(long bytes) {
            this.inlineLimitBytes = bytes;
            return this;
        }

        /** Initializers smaller than this stay inside the graph when writing external data. */
        public Builder externalThresholdBytes(long bytes) {
            this.externalThresholdBytes = bytes;
            return this;
        }

        public Builder forceExternal(boolean force) {
            this.forceExternal = force;
            return this;
        }

        public OnnxModelWriter build() {
            return new OnnxModelWriter(this);
        }
    }
}
