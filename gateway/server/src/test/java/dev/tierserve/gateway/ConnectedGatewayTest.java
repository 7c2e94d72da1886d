package dev.tierserve.gateway;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** Base of the gRPC tests: one client per test class, connected once the gateway reports ready. */
abstract class ConnectedGatewayTest {

    static GatewayTestClient client;

    @BeforeAll
    static void connect() throws InterruptedException {
        client = new GatewayTestClient().awaitReady();
    }

    @AfterAll
    static void disconnect() throws InterruptedException {
        client.close();
    }
}
