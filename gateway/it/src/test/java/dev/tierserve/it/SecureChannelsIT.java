package dev.tierserve.it;

import dev.tierserve.it.PackagedGateway.Packaging;
import dev.tierserve.proto.compressor.CompressorServiceGrpc;
import dev.tierserve.proto.compressor.ListJobsRequest;
import io.grpc.CallCredentials;
import io.grpc.ChannelCredentials;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * TLS as a deployment sets it up, with certificates the test makes: the packaged gateway serves gRPC over TLS to the
 * packaged client given the CA, and reaches its packaged worker over mutual TLS with the worker's bearer token; the
 * worker refuses plain text, callers without a certificate of its CA, and calls without the token; the gateway
 * requires its inference token of the client; no log line of either process holds a token.
 */
class SecureChannelsIT {

    private static final String TOKEN = "it-worker-token-7f3a9c";
    private static final String INFERENCE_TOKEN = "it-inference-token-41d2e8";

    @TempDir
    Path home;

    @Test
    void theGatewayServesTlsAndReachesItsWorkerOverMutualTlsWithItsToken() throws Exception {
        TestCertificates certs = TestCertificates.generate(home.resolve("certs"));
        Path tokenFile = Files.writeString(home.resolve("worker-token"), TOKEN + "\n");
        Path inferenceTokenFile = Files.writeString(home.resolve("inference-token"), INFERENCE_TOKEN + "\n");
        Path models = MiniLmRepository.create(home.resolve("models"));
        Path store = home.resolve("variants");
        try (PackagedWorker worker = PackagedWorker.start(home.resolve("worker"), Map.of(), "--models",
                models.toString(), "--store", store.toString(), "--tls-cert", certs.serverCert().toString(),
                "--tls-key", certs.serverKey().toString(), "--tls-ca", certs.ca().toString(), "--token-file",
                tokenFile.toString());
             PackagedGateway gateway = PackagedGateway.start(Packaging.REMOTE, trusting(certs.ca()),
                     home.resolve("gateway"), "quarkus.grpc.server.ssl.certificate=" + certs.serverCert(),
                     "quarkus.grpc.server.ssl.key=" + certs.serverKey(), "gateway.repository=" + models,
                     "gateway.variants.store=" + store, "gateway.compressor.mode=remote",
                     "gateway.compressor.address=" + worker.address(), "gateway.compressor.tls.ca=" + certs.ca(),
                     "gateway.compressor.tls.cert=" + certs.clientCert(),
                     "gateway.compressor.tls.key=" + certs.clientKey(), "gateway.compressor.token-file=" + tokenFile,
                     "gateway.compressor.methods=trimllm", "gateway.compressor.precisions=float32", "gateway.compressor.sequence=64",
                     "gateway.inference.token-file=" + inferenceTokenFile)) {
            assertTrue(worker.logText().contains("(mutual TLS, bearer token required)"), worker.logText());

            // The packaged client over TLS, trusting the test's CA; without TLS it cannot talk to the gateway.
            PackagedClient client = new PackagedClient(gateway.grpcTarget());
            String ca = certs.ca().toString();
            String token = inferenceTokenFile.toString();
            PackagedClient.Run exact = client.run("--ca", ca, "--inference-token-file", token, "infer", "--model",
                    MiniLmRepository.TEXT, "--tier", "exact", "--text", "a sentence over TLS");
            assertEquals(0, exact.exitCode(), exact.toString());
            assertTrue(exact.stdout().contains("served tier exact"), exact.stdout());
            PackagedClient.Run anonymous = client.run("--ca", ca, "infer", "--model", MiniLmRepository.TEXT,
                    "--text", "no token");
            assertEquals(2, anonymous.exitCode(), anonymous.toString());
            assertTrue(anonymous.stderr().startsWith("error: UNAUTHENTICATED"), anonymous.stderr());
            PackagedClient.Run plain = client.run("infer", "--model", MiniLmRepository.TEXT, "--text", "plain text");
            assertEquals(2, plain.exitCode(), plain.toString());
            assertTrue(plain.stderr().startsWith("error: UNAVAILABLE"), plain.stderr());

            // A missing tier: the gateway submits the job to its worker, over mutual TLS with the token.
            PackagedClient.Run missing = client.run("--ca", ca, "--inference-token-file", token, "infer", "--model",
                    MiniLmRepository.TEXT, "--tier", "1.2x", "--text", "a sentence over TLS");
            assertEquals(0, missing.exitCode(), missing.toString());
            assertTrue(missing.stdout().contains("degraded from tier 1.2x"), missing.stdout());
            awaitLog(gateway, "builds " + MiniLmRepository.MODEL + " 1.2x");

            // The worker itself: only a caller with a certificate of its CA and the token gets an answer.
            assertEquals(1, listJobs(worker, tls(certs, certs.clientCert(), certs.clientKey()), TOKEN));
            assertRefused(Status.Code.UNAVAILABLE, worker, InsecureChannelCredentials.create(), TOKEN);
            assertRefused(Status.Code.UNAVAILABLE, worker, trusting(certs.ca()), TOKEN);
            assertRefused(Status.Code.UNAVAILABLE, worker, tls(certs, certs.strangerCert(), certs.strangerKey()),
                    TOKEN);
            assertRefused(Status.Code.UNAUTHENTICATED, worker, tls(certs, certs.clientCert(), certs.clientKey()), null);
            assertRefused(Status.Code.UNAUTHENTICATED, worker, tls(certs, certs.clientCert(), certs.clientKey()),
                    TOKEN + "x");

            assertFalse(gateway.logText().contains(TOKEN), "the token in the gateway's log");
            assertFalse(gateway.logText().contains(INFERENCE_TOKEN), "the inference token in the gateway's log");
            assertFalse(worker.logText().contains(TOKEN), "the token in the worker's log");
        }
    }

    @Test
    void aWorkerCertificateWithoutTheCaToCheckItAgainstStopsTheGatewayAtStart() {
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> PackagedGateway.start(
                Packaging.REMOTE, home.resolve("gateway"), "gateway.compressor.mode=remote",
                "gateway.compressor.address=127.0.0.1:1", "gateway.compressor.tls.cert=client.pem",
                "gateway.compressor.tls.key=client.key").close());
        assertTrue(refused.getMessage().contains("gateway.compressor.tls.cert and .key need gateway.compressor.tls.ca"),
                refused.getMessage());
    }

    private static ChannelCredentials trusting(Path ca) throws Exception {
        return TlsChannelCredentials.newBuilder().trustManager(ca.toFile()).build();
    }

    private static ChannelCredentials tls(TestCertificates certs, Path cert, Path key) throws Exception {
        return TlsChannelCredentials.newBuilder().trustManager(certs.ca().toFile()).keyManager(cert.toFile(),
                key.toFile()).build();
    }

    private static int listJobs(PackagedWorker worker, ChannelCredentials credentials, String token) {
        ManagedChannel channel = Grpc.newChannelBuilder(worker.address(), credentials).build();
        try {
            CompressorServiceGrpc.CompressorServiceBlockingStub stub = CompressorServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(30, TimeUnit.SECONDS);
            if (token != null) {
                stub = stub.withCallCredentials(bearer(token));
            }
            return stub.listJobs(ListJobsRequest.getDefaultInstance()).getJobsCount();
        } finally {
            channel.shutdownNow();
        }
    }

    private static void assertRefused(Status.Code expected, PackagedWorker worker, ChannelCredentials credentials,
                                      String token) {
        StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
                () -> listJobs(worker, credentials, token));
        assertEquals(expected, refused.getStatus().getCode(), refused.toString());
    }

    private static CallCredentials bearer(String token) {
        return new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata metadata = new Metadata();
                metadata.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
                applier.apply(metadata);
            }
        };
    }

    private static void awaitLog(PackagedGateway gateway, String line) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!gateway.logText().contains(line)) {
            if (System.nanoTime() > until) {
                throw new AssertionError("no '" + line + "' in the gateway's log within 60 s:\n" + gateway.logText());
            }
            Thread.sleep(200);
        }
    }
}
