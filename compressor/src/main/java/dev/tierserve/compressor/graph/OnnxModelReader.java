package dev.tierserve.compressor.graph;

import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import com.google.protobuf.ByteString;
import com.google.protobuf.CodedInputStream;
import com.google.protobuf.InvalidProtocolBufferException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Reads an ONNX model file. Initializers stored as external data (weights in files beside the graph, as
 * large exports use) are read into the model, so every edit sees plain in-memory tensors.
 */
public final class OnnxModelReader {

    private OnnxModelReader() {
    }

    public static ModelProto read(Path file) {
        ModelProto model;
        try (InputStream in = Files.newInputStream(file)) {
            CodedInputStream coded = CodedInputStream.newInstance(in);
            coded.setSizeLimit(Integer.MAX_VALUE);
            coded.setRecursionLimit(1000);
            model = ModelProto.parseFrom(coded);
        } catch (InvalidProtocolBufferException e) {
            throw new OnnxFormatException(file + " is not an ONNX model: " + e.getMessage(), e);
        } catch (NoSuchFileException e) {
            throw new OnnxFormatException("cannot read " + file + ": no such file", e);
        } catch (IOException e) {
            throw new OnnxFormatException("cannot read " + file + ": " + e.getMessage(), e);
        }
        if (!model.hasGraph() || model.getGraph().getNodeCount() == 0) {
            throw new OnnxFormatException(file + " is not an ONNX model: it has no graph nodes");
        }
        return hasExternalData(model.getGraph()) ? inlineExternalData(model, file.toAbsolutePath().getParent()) : model;
    }

    public static ModelProto parse(byte[] bytes) {
        try {
            return ModelProto.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new OnnxFormatException("not an ONNX model: " + e.getMessage(), e);
        }
    }

    private static boolean hasExternalData(GraphProto graph) {
        return graph.getInitializerList().stream()
                .anyMatch(t -> t.getDataLocation() == TensorProto.DataLocation.EXTERNAL);
    }

    private static ModelProto inlineExternalData(ModelProto model, Path directory) {
        GraphProto.Builder graph = model.getGraph().toBuilder();
        for (int i = 0; i < graph.getInitializerCount(); i++) {
            TensorProto tensor = graph.getInitializer(i);
            if (tensor.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
                graph.setInitializer(i, tensor.toBuilder()
                        .clearExternalData()
                        .clearDataLocation()
                        .setRawData(readExternal(tensor, directory))
                        .build());
            }
        }
        return model.toBuilder().setGraph(graph).build();
    }

    private static ByteString readExternal(TensorProto tensor, Path directory) {
        String location = null;
        long offset = 0;
        long length = -1;
        for (StringStringEntryProto entry : tensor.getExternalDataList()) {
            switch (entry.getKey()) {
                case "location" -> location = entry.getValue();
                case "offset" -> offset = externalNumber(tensor, entry);
                case "length" -> length = externalNumber(tensor, entry);
                default -> { }
            }
        }
        if (location == null) {
            throw new OnnxFormatException("initializer '" + tensor.getName() + "' is external but names no location");
        }
        Path file = insideDirectory(tensor, directory, location);
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = length >= 0 ? length : channel.size() - offset;
            if (offset + size > channel.size() || size > Integer.MAX_VALUE - 8) {
                throw new OnnxFormatException("initializer '" + tensor.getName() + "' wants bytes " + offset + ".."
                        + (offset + size) + " of " + file + " which has " + channel.size());
            }
            ByteBuffer buffer = ByteBuffer.allocate((int) size);
            while (buffer.hasRemaining()) {
                if (channel.read(buffer, offset + buffer.position()) < 0) {
                    throw new OnnxFormatException("unexpected end of " + file);
                }
            }
            buffer.flip();
            return ByteString.copyFrom(buffer);
        } catch (IOException e) {
            throw new OnnxFormatException("cannot read external data " + file + " for initializer '"
                    + tensor.getName() + "': " + e.getMessage(), e);
        }
    }

    /**
     * The data file {@code location} names, which must lie inside the model's directory once links are followed:
     * a model file is input from strangers, and its locations must not reach other files of the machine.
     */
    private static Path insideDirectory(TensorProto tensor, Path directory, String location) {
        Path file = directory.resolve(location).normalize();
        try {
            if (Path.of(location).isAbsolute() || !file.startsWith(directory)
                    || !file.toRealPath().startsWith(directory.toRealPath())) {
                throw new OnnxFormatException("initializer '" + tensor.getName()
                        + "' points outside the model directory: " + location);
            }
        } catch (InvalidPathException | IOException e) {
            throw new OnnxFormatException("initializer '" + tensor.getName() + "' names external data '" + location
                    + "' that cannot be read: " + e.getMessage(), e);
        }
        return file;
    }

    private static long externalNumber(TensorProto tensor, StringStringEntryProto entry) {
        try {
            long value = Long.parseLong(entry.getValue());
            if (value >= 0) {
                return value;
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new OnnxFormatException("initializer '" + tensor.getName() + "' has external data " + entry.getKey()
                + " '" + entry.getValue() + "', not a non-negative number");
    }
}
