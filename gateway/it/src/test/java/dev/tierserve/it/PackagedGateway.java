package dev.tierserve.it;

import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.ServerReadyRequest;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The packaged gateway, {@code java -jar gateway/server/target/quarkus-app/quarkus-run.jar}, started as its own
 * process in a working directory of its own (where it installs the embedded default model), on free ports, with
 * nothing configured but those ports and whatever a test adds.
 */
final class PackagedGateway implements AutoCloseable {

    /** The two packagings the build makes of the gateway. */
    enum Packaging {
        /** {@code quarkus-app}: with the local compressor, the default. */
        EMBEDDED("quarkus-app"),
        /** {@code quarkus-app-remote}: without the compressor and its methods (the gateway image). */
        REMOTE("quarkus-app-remote");

        private final String directory;

        Packaging(String directory) {
            this.directory = directory;
        }

        Path directory() {
            return ROOT.resolve("gateway/server/target").resolve(directory);
        }

        Path jar() {
            return directory().resolve("quarkus-run.jar");
        }
    }

    static final Path ROOT = Path.of(System.getProperty("tierserve.root", "../..")).toAbsolutePath().normalize();
    /** How long a cold start may take on a slow CI machine before the test gives up (not a measurement). */
    private static final long START_LIMIT_SECONDS = 300;

    private final Process process;
    private final Path log;
    private final int grpcPort;
    private final int httpPort;
    private final ManagedChannel channel;

    private PackagedGateway(Process process, Path log, int grpcPort, int httpPort, ChannelCredentials credentials) {
        this.process = process;
        this.log = log;
        this.grpcPort = grpcPort;
        this.httpPort = httpPort;
        this.channel = Grpc.newChannelBuilder("127.0.0.1:" + grpcPort, credentials).maxInboundMessageSize(64 << 20)
                .build();
    }

    /**
     * Starts the gateway in {@code workDir} and waits until it reports ready.
     *
     * @param properties extra {@code -Dname=value} settings, e.g. {@code "quarkus.shutdown.timeout=30s"}
     */
    static PackagedGateway start(Path workDir, String... properties) throws IOException, InterruptedException {
        return start(Packaging.EMBEDDED, workDir, properties);
    }

    /** Starts the gateway of one of the two packagings in {@code workDir} and waits until it reports ready. */
    static PackagedGateway start(Packaging packaging, Path workDir, String... properties)
            throws IOException, InterruptedException {
        return start(packaging, InsecureChannelCredentials.create(), workDir, properties);
    }

    /** The same, for a gateway whose gRPC port needs {@code credentials} (TLS). */
    static PackagedGateway start(Packaging packaging, ChannelCredentials credentials, Path workDir,
                                 String... properties) throws IOException, InterruptedException {
        Path jar = packaging.jar();
        if (!Files.isRegularFile(jar)) {
            throw new IllegalStateException(jar + " is missing: run mvn package first");
        }
        Files.createDirectories(workDir);
        int grpc = freePort();
        int http = freePort();
        List<String> command = new ArrayList<>(List.of(java(), "-Dquarkus.grpc.server.port=" + grpc,
                "-Dquarkus.http.port=" + http));
        for (String property : properties) {
            command.add("-D" + property);
        }
        command.addAll(List.of("-jar", jar.toString()));
        Path log = workDir.resolve("gateway.log");
        Process process = new ProcessBuilder(command).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        PackagedGateway gateway = new PackagedGateway(process, log, grpc, http, credentials);
        try {
            gateway.awaitReady();
        } catch (RuntimeException | Error e) {
            gateway.close();
            throw e;
        }
        return gateway;
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private void awaitReady() throws InterruptedException {
        GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub = GRPCInferenceServiceGrpc.newBlockingStub(channel);
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(START_LIMIT_SECONDS);
        while (System.nanoTime() < until) {
            if (!process.isAlive()) {
                throw new IllegalStateException("the gateway exited with " + process.exitValue() + " before it was "
                        + "ready:\n" + logText());
            }
            try {
                if (stub.withDeadlineAfter(5, TimeUnit.SECONDS).serverReady(ServerReadyRequest.getDefaultInstance())
                        .getReady()) {
                    return;
                }
            } catch (StatusRuntimeException notYet) {
                // not listening yet
            }
            Thread.sleep(250);
        }
        throw new IllegalStateException("the gateway was not ready within " + START_LIMIT_SECONDS + " s:\n" + logText());
    }

    ManagedChannel channel() {
        return channel;
    }

    GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub() {
        return GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(120, TimeUnit.SECONDS);
    }

    String grpcTarget() {
        return "127.0.0.1:" + grpcPort;
    }

    String httpBase() {
        return "http://127.0.0.1:" + httpPort;
    }

    Process process() {
        return process;
    }

    String logText() {
        try {
            return Files.readString(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Sends SIGTERM, as Kubernetes does, and returns the exit code (waiting at most {@code limitSeconds}). */
    int terminate(long limitSeconds) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(limitSeconds, TimeUnit.SECONDS)) {
            throw new AssertionError("the gateway did not exit within " + limitSeconds + " s of SIGTERM:\n"
                    + logText());
        }
        return process.exitValue();
    }

    @Override
    public void close() {
        channel.shutdownNow();
        process.destroy();
        try {
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        }
    }
}
