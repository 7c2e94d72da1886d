package dev.tierserve.gateway.admin;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The admin guard's answers, with and without a configured token (RolloutTest checks them over gRPC). */
class AdminAuthTest {

    @TempDir
    Path dir;

    @Test
    void withoutAConfiguredTokenEveryCallIsRefusedEvenOneThatLooksRight() {
        AdminAuth auth = new AdminAuth(new AdminToken(Optional.empty()), new SimpleMeterRegistry());
        for (String presented : new String[] {null, "", "Bearer ", "Bearer anything"}) {
            assertEquals(Status.Code.PERMISSION_DENIED, auth.check(presented).getCode(), String.valueOf(presented));
        }
    }

    @Test
    void aConfiguredTokenAdmitsOnlyItselfAsABearerToken() throws Exception {
        Path file = Files.writeString(dir.resolve("token"), "  s3cret-token\n");
        AdminAuth auth = new AdminAuth(new AdminToken(Optional.of(file)), new SimpleMeterRegistry());
        assertNull(auth.check("Bearer s3cret-token"), "surrounding whitespace of the file is ignored");
        assertNull(auth.check("bearer s3cret-token"), "the scheme is case-insensitive (RFC 7235)");
        assertEquals(Status.Code.UNAUTHENTICATED, auth.check(null).getCode());
        assertEquals(Status.Code.UNAUTHENTICATED, auth.check("s3cret-token").getCode());
        assertEquals(Status.Code.UNAUTHENTICATED, auth.check("Basic czNjcmV0").getCode());
        assertEquals(Status.Code.PERMISSION_DENIED, auth.check("Bearer s3cret-tokeN").getCode());
        assertEquals(Status.Code.PERMISSION_DENIED, auth.check("Bearer s3cret-token-and-more").getCode());
    }

    @Test
    void anEmptyTokenFileStopsTheGatewayInsteadOfOpeningTheApi() throws Exception {
        Path file = Files.writeString(dir.resolve("token"), "\n");
        assertThrows(IllegalStateException.class, () -> new AdminToken(Optional.of(file)));
    }
}
