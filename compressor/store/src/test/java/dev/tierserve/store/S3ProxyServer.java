package dev.tierserve.store;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * s3proxy (a real S3 API server, from Maven Central) started as its own process on loopback, keeping its objects in a
 * directory, so a test can stop it and start it again over the same objects. The jar is the build's copy of
 * {@code org.gaul:s3proxy:jar-with-dependencies}, named by the system property {@code s3proxy.jar}.
 */
public final class S3ProxyServer implements AutoCloseable {

    public static final String IDENTITY = "tierserve-test";
    public static final String CREDENTIAL = "tierserve-test-secret";

    private final Path dir;
    private final int port;
    private Process process;

    public S3ProxyServer(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir.resolve("data"));
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        Files.writeString(dir.resolve("s3proxy.conf"), String.join("\n",
                "s3proxy.endpoint=http://127.0.0.1:" + port,
                "s3proxy.authorization=aws-v2-or-v4",
                "s3proxy.identity=" + IDENTITY,
                "s3proxy.credential=" + CREDENTIAL,
                "jclouds.provider=filesystem-nio2",
                "jclouds.identity=" + IDENTITY,
                "jclouds.credential=" + CREDENTIAL,
                "jclouds.filesystem.basedir=" + dir.resolve("data")) + "\n");
    }

    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    /** Starts the server and returns once it accepts connections. */
    public S3ProxyServer start() throws IOException, InterruptedException {
        String jar = System.getProperty("s3proxy.jar");
        if (jar == null || !Files.isRegularFile(Path.of(jar))) {
            throw new IllegalStateException("s3proxy.jar (copied by the build into target/s3proxy) is missing: " + jar);
        }
        process = new ProcessBuilder(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx256m", "-jar", jar, "--properties", dir.resolve("s3proxy.conf").toString()))
                .redirectErrorStream(true).redirectOutput(dir.resolve("s3proxy.log").toFile()).start();
        while (!accepts()) {
            if (!process.isAlive()) {
                throw new IllegalStateException("s3proxy exited: " + Files.readString(dir.resolve("s3proxy.log")));
            }
            Thread.sleep(50);
        }
        return this;
    }

    /** Kills the server at once, as a crash would. */
    public void kill() {
        process.destroyForcibly();
        try {
            process.waitFor(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private boolean accepts() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() {
        if (process != null) {
            kill();
        }
    }
}
