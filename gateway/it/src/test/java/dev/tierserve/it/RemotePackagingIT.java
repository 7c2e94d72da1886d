package dev.tierserve.it;

import dev.tierserve.it.PackagedGateway.Packaging;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The gateway's remote packaging, {@code gateway/server/target/quarkus-app-remote} (what the gateway image carries):
 * ONNX Runtime and the store without the compressor and its methods, and a clear refusal of the local mode, which
 * needs them. ScaleOutIT serves and rolls out with this packaging.
 */
class RemotePackagingIT {

    /** Jars that only compression needs: the compressor itself, ZipLM's linear algebra, the reports' charts. */
    private static final List<String> COMPRESSION_ONLY = List.of("tierserve-compressor", "ejml-", "xchart-", "pdfbox-",
            "picocli-", "tribuo-");

    @TempDir
    Path home;

    @Test
    void carriesOnnxRuntimeAndTheStoreButNoCompressionMethod() throws Exception {
        List<String> remote = libraries(Packaging.REMOTE);
        for (String needed : List.of("tierserve-store", "tierserve-proto", "onnxruntime-", "awssdk.s3-", "caffeine-")) {
            assertTrue(remote.stream().anyMatch(jar -> jar.contains(needed)), needed + " in " + remote);
        }
        for (String unwanted : COMPRESSION_ONLY) {
            assertEquals(List.of(), remote.stream().filter(jar -> jar.contains(unwanted)).toList(), unwanted);
        }
        // The embedded packaging is the same build with the compressor kept: the filter is the only difference.
        List<String> embedded = libraries(Packaging.EMBEDDED);
        for (String kept : COMPRESSION_ONLY) {
            assertTrue(embedded.stream().anyMatch(jar -> jar.contains(kept)), kept + " in " + embedded);
        }
    }

    @Test
    void refusesTheInProcessModeAtStartAndSaysWhatToSetInstead() {
        IllegalStateException refused = assertThrows(IllegalStateException.class,
                () -> PackagedGateway.start(Packaging.REMOTE, home.resolve("gateway")).close());
        assertTrue(refused.getMessage().contains("the gateway exited"), refused.getMessage());
        assertTrue(refused.getMessage().contains("gateway.compressor.mode=local needs the compressor"),
                refused.getMessage());
        assertTrue(refused.getMessage().contains("set gateway.compressor.mode=remote"), refused.getMessage());
    }

    private static List<String> libraries(Packaging packaging) throws Exception {
        try (Stream<Path> jars = Files.list(packaging.directory().resolve("lib/main"))) {
            return jars.map(jar -> jar.getFileName().toString()).sorted().toList();
        }
    }
}
