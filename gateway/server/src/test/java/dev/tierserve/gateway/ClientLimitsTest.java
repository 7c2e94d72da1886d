package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.tierserve.jobs.BearerToken;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ServerLiveRequest;
import dev.tierserve.proto.inference.ServerReadyRequest;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The gateway with an inference token and small connection limits: calls without the token are UNAUTHENTICATED
 * while probes stay open, one connection never has more calls in the gateway than it may open streams, and a client
 * pinging faster than the keep-alive policy allows is sent away.
 */
@QuarkusTest
@TestProfile(ClientLimitsTest.Secured.class)
@QuarkusTestResource(TestModels.class)
class ClientLimitsTest {

    static final Path TOKEN_FILE = Path.of("target/client-limits/inference-token");
    static final String TOKEN = "inference-token-7f3a";
    static final int STREAMS_PER_CONNECTION = 2;

    public static class Secured implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            try {
                Files.createDirectories(TOKEN_FILE.getParent());
                Files.writeString(TOKEN_FILE, TOKEN + "\n");
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return Map.of("gateway.inference.token-file", TOKEN_FILE.toString(),
                    "gateway.inference.max-concurrent-calls-per-connection", String.valueOf(STREAMS_PER_CONNECTION));
        }
    }

    @Inject
    MeterRegistry meters;

    @Test
    void inferenceNeedsTheTokenAndProbesDoNot() throws Exception {
        try (GatewayTestClient client = new GatewayTestClient().awaitReady()) {
            assertTrue(client.stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive());
            assertTrue(client.stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady());
            ModelInferRequest request = bertRequest(TestModels.MINILM, 1, 8, 1).build();
            double refusedBefore = refused();
            assertTrue(failure(Status.Code.UNAUTHENTICATED, () -> client.stub.modelInfer(request))
                    .contains("authorization: Bearer"));
            GRPCInferenceServiceBlockingStub stranger = withToken(client, "not-" + TOKEN);
            assertTrue(failure(Status.Code.UNAUTHENTICATED, () -> stranger.modelInfer(request))
                    .contains("wrong inference token"));
            assertEquals(2, refused() - refusedBefore);
            assertEquals(TestModels.MINILM, withToken(client, TOKEN).modelInfer(request).getModelName());
        }
    }

    @Test
    void oneConnectionHasNoMoreCallsInTheGatewayThanItsStreamLimit() throws Exception {
        int calls = 8;
        ExecutorService threads = Executors.newFixedThreadPool(calls + 1);
        try (GatewayTestClient client = new GatewayTestClient()) {
            GRPCInferenceServiceBlockingStub stub = withToken(client, TOKEN);
            stub.modelInfer(bertRequest(TestModels.MINILM, 1, 8, 1).build()); // connected and loaded
            AtomicInteger peak = new AtomicInteger();
            AtomicBoolean running = new AtomicBoolean(true);
            Future<?> sampler = threads.submit(() -> {
                while (running.get()) {
                    peak.accumulateAndGet((int) meters.get("gateway.requests.in.flight").gauge().value(), Math::max);
                }
            });
            CountDownLatch start = new CountDownLatch(1);
            List<Future<String>> answers = new ArrayList<>();
            for (int i = 0; i < calls; i++) {
                long seed = i;
                answers.add(threads.submit(() -> {
                    start.await();
                    // 32 x 128 tokens: long enough that the eight calls overlap in the gateway if they can.
                    return stub.modelInfer(bertRequest(TestModels.MINILM, 32, 128, seed).build()).getModelName();
                }));
            }
            start.countDown();
            for (Future<String> answer : answers) {
                assertEquals(TestModels.MINILM, answer.get(), "every call is answered: the client queues the rest");
            }
            running.set(false);
            sampler.get();
            System.out.printf("client limits: %d calls on one connection, at most %d in the gateway at once%n",
                    calls, peak.get());
            assertTrue(peak.get() >= 1 && peak.get() <= STREAMS_PER_CONNECTION, "peak in flight " + peak.get());
        } catch (StatusRuntimeException e) {
            throw new AssertionError(e.getStatus().toString(), e);
        } finally {
            threads.shutdownNow();
        }
    }

    /**
     * The keep-alive policy's enforcement: a client pinging more often than every 10 s is sent GOAWAY
     * ENHANCE_YOUR_CALM ("too_many_pings") after grpc-java's two strikes. grpc-java's own client will not ping
     * faster than 10 s, so this one speaks HTTP/2's frames over a socket: the preface, empty SETTINGS, then PINGs.
     */
    @Test
    void aClientPingingFasterThanThePolicyAllowsIsSentGoAway() throws Exception {
        try (Socket socket = new Socket("localhost", GatewayTestClient.PORT)) {
            socket.setSoTimeout(30_000); // a broken policy fails the test instead of hanging it
            DataOutputStream out = new DataOutputStream(socket.getOutputStream());
            out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            frame(out, 0x4, new byte[0]); // SETTINGS, none changed
            for (int ping = 0; ping < 5; ping++) {
                frame(out, 0x6, new byte[8]); // PING
            }
            out.flush();
            DataInputStream in = new DataInputStream(socket.getInputStream());
            int pingAcks = 0;
            while (true) {
                int length = (in.readUnsignedByte() << 16) | in.readUnsignedShort();
                int type = in.readUnsignedByte();
                in.readUnsignedByte(); // flags
                in.readInt(); // stream
                byte[] payload = in.readNBytes(length);
                if (type == 0x6) {
                    pingAcks++;
                } else if (type == 0x7) { // GOAWAY: last stream id, error code, debug data
                    ByteBuffer goAway = ByteBuffer.wrap(payload);
                    goAway.getInt();
                    assertEquals(0xB, goAway.getInt(), "ENHANCE_YOUR_CALM");
                    String debug = new String(payload, 8, payload.length - 8, StandardCharsets.US_ASCII);
                    assertTrue(debug.contains("too_many_pings"), debug);
                    assertTrue(pingAcks <= 3, "answered " + pingAcks + " pings before GOAWAY");
                    return;
                }
            }
        }
    }

    /** One HTTP/2 frame on stream 0 without flags. */
    private static void frame(DataOutputStream out, int type, byte[] payload) throws IOException {
        out.writeByte(payload.length >>> 16);
        out.writeShort(payload.length & 0xFFFF);
        out.writeByte(type);
        out.writeByte(0);
        out.writeInt(0);
        out.write(payload);
    }

    private double refused() {
        return meters.counter("gateway.inference.refused", "reason", "unauthenticated").count();
    }

    private static GRPCInferenceServiceBlockingStub withToken(GatewayTestClient client, String token)
            throws IOException {
        Path file = Files.createTempFile(TOKEN_FILE.getParent(), "presented", "");
        Files.writeString(file, token);
        return client.stub.withCallCredentials(BearerToken.read(file).callCredentials());
    }
}
