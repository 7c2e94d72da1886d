package dev.tierserve.gateway.compression;

import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.store.RuntimeSettings;
import dev.tierserve.store.S3VariantStore;
import java.io.File;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The command line of the gateway's own compressor worker: this JVM's {@code java}, the worker's heap, the class path
 * the compressor was loaded from, and {@code compressor serve} on loopback with the gateway's store, models and serving
 * runtime; under {@code nice -n 19} where the system has {@code nice}.
 *
 * @param mainClass the compressor's command line
 * @param heapBytes the worker's maximum heap
 * @param models    the parent models jobs may compress: name to {@code model.onnx}
 */
record WorkerCommand(Class<?> mainClass, long heapBytes, GatewayConfig.Variants store, RuntimeSettings runtime,
                     Map<String, Path> models) {

    /** The lowest CPU priority: compression runs on what serving leaves idle. */
    static final int NICENESS = 19;

    List<String> line(Path tokenFile) {
        List<String> line = new ArrayList<>();
        onPath("nice").ifPresent(nice -> line.addAll(List.of(nice.toString(), "-n", String.valueOf(NICENESS))));
        line.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        line.add("-Xmx" + Math.max(1, heapBytes >> 20) + "m");
        // A job that outgrows its heap ends the worker (the gateway starts another) instead of leaving it half alive.
        line.add("-XX:+ExitOnOutOfMemoryError");
        Optional<Path> packaged = packagedLibraries();
        if (packaged.isPresent()) {
            // The packaged libraries bring JBoss LogManager (DJL logs through it): the JDK's logging must use it too.
            line.add("-Djava.util.logging.manager=org.jboss.logmanager.LogManager");
        }
        line.addAll(List.of("-cp", packaged.map(WorkerCommand::classPath).orElse(System.getProperty("java.class.path")),
                mainClass.getName(), "serve", "--host", "127.0.0.1", "--port", "0",
                "--exit-with-parent", "--token-file", tokenFile.toString()));
        line.addAll(List.of("--provider", runtime.provider().name().toLowerCase(Locale.ROOT),
                "--threads", String.valueOf(runtime.threads()), "--batch", String.valueOf(runtime.batch()),
                "--seq", String.valueOf(runtime.sequence())));
        line.addAll(List.of("--store", store.store()));
        if (S3VariantStore.isS3(store.store())) {
            GatewayConfig.Variants.S3 s3 = store.s3();
            s3.endpoint().ifPresent(endpoint -> line.addAll(List.of("--s3-endpoint", endpoint.toString())));
            line.addAll(List.of("--s3-region", s3.region(),
                    "--cache-dir", s3.cacheDir().resolve("compressor").toString(),
                    "--work-dir", s3.workDir().toString()));
        }
        models.forEach((name, file) -> line.addAll(List.of("--model", name + "=" + file.toAbsolutePath())));
        return line;
    }

    /**
     * The packaged gateway's {@code lib} folder: in {@code quarkus-app} the compressor's jar is one of {@code lib/main},
     * and {@code lib/boot} holds the rest of the libraries. Empty elsewhere (tests, an IDE), where the compressor
     * starts with this JVM's class path.
     */
    private Optional<Path> packagedLibraries() {
        try {
            Path source = Path.of(mainClass.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path folder = source.getParent();
            Path lib = folder == null ? null : folder.getParent();
            if (Files.isRegularFile(source) && folder.getFileName().toString().equals("main") && lib != null
                    && Files.isDirectory(lib.resolve("boot"))) {
                return Optional.of(lib);
            }
        } catch (URISyntaxException | RuntimeException e) {
            // no usable code source
        }
        return Optional.empty();
    }

    private static String classPath(Path lib) {
        return lib.resolve("main") + File.separator + "*" + File.pathSeparator + lib.resolve("boot") + File.separator
                + "*";
    }

    private static Optional<Path> onPath(String program) {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir, program);
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }
}
