package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static dev.tierserve.gateway.GatewayTestClient.string;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.store.FileVariantStore;
import io.grpc.Status;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * A variant whose file is cut short on disk after it was published: the gateway refuses it by its checksum, names
 * it, counts it, and from then on answers its tier from {@code exact} marked {@code degraded_from}; it never runs it.
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class TamperedVariantTest extends ConnectedGatewayTest {

    private static final String ID = "fixture-tampered";

    @Inject
    VariantCatalog catalog;

    @Inject
    MeterRegistry meters;

    @Test
    void aTruncatedVariantIsRefusedByItsChecksumAndItsTierFallsBack() throws IOException {
        FileVariantStore store = (FileVariantStore) catalog.store();
        deleteTree(store.root().resolve(TestModels.TAMPERED)); // a variant of an earlier run would be refused already
        VariantFixtures.publish(store, TestModels.TAMPERED, ID, VariantFixtures.dropLast(TestModels.TAMPERED, 2), 1.5,
                0.95);
        assertEquals(1, catalog.refresh(TestModels.TAMPERED).readyTiers().size());
        Path file = store.modelFile(catalog.of(TestModels.TAMPERED).byId(ID).orElseThrow());
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
            channel.truncate(channel.size() / 2);
        }
        double refusedBefore = meters.counter("gateway.variants.refused").count();

        ModelInferRequest request = bertRequest(TestModels.TAMPERED, 1, 8, 1).putParameters("tier", string("1.5x"))
                .build();
        String message = failure(Status.Code.FAILED_PRECONDITION, () -> client.stub.modelInfer(request));
        assertTrue(message.contains(ID) && message.contains("checksum"), message);
        assertEquals(1, meters.counter("gateway.variants.refused").count() - refusedBefore);

        for (int i = 0; i < 3; i++) {
            ModelInferResponse response = client.stub.modelInfer(request);
            assertEquals("exact", response.getParametersOrThrow("tier").getStringParam());
            assertEquals("1.5x", response.getParametersOrThrow("degraded_from").getStringParam());
        }
        assertTrue(catalog.refresh(TestModels.TAMPERED).byId(ID).isEmpty(), "a re-read of the store keeps it out");
        assertEquals(1, meters.counter("gateway.variants.refused").count() - refusedBefore);
    }

    private static void deleteTree(Path root) throws IOException {
        if (Files.exists(root)) {
            try (Stream<Path> paths = Files.walk(root)) {
                for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(path);
                }
            }
        }
    }
}
