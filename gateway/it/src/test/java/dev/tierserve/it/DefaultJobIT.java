package dev.tierserve.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.google.protobuf.ByteString;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The default on-the-fly job, end to end on the packaged gateway with nothing configured but its model repository
 * (all-MiniLM-L6): the first request for 2x is answered by exact and starts the job in the gateway's own worker, a
 * child process at the lowest CPU priority; the job measures int8 and ZipLM on the serving runtime and publishes a 2x
 * variant that later requests get; the worker ends with the gateway.
 */
class DefaultJobIT {

    private static final long JOB_LIMIT_MINUTES = 15;
    /** Variants the default job may publish: int8 alone, ZipLM with int8 stacked, ZipLM at float32. */
    private static final Set<String> DEFAULT_METHODS = Set.of("int8", "ziplm+int8", "ziplm");

    @TempDir
    Path home;

    @Test
    void aTierAskedForIsBuiltByTheDefaultJobInALowPriorityChildAndServed() throws Exception {
        Path repository = MiniLmRepository.create(home.resolve("models"));
        ModelInferRequest request = ModelInferRequest.newBuilder().setModelName(MiniLmRepository.TEXT)
                .addInputs(ModelInferRequest.InferInputTensor.newBuilder().setName("TEXT").setDatatype("BYTES")
                        .addShape(1))
                .addRawInputContents(bytes("The quick brown fox jumps over the lazy dog."))
                .putParameters("tier", InferParameter.newBuilder().setStringParam("2x").build()).build();
        Path workDir = home.resolve("gateway");
        ProcessHandle worker;
        try (PackagedGateway gateway = PackagedGateway.start(workDir, "gateway.repository=" + repository)) {
            ModelInferResponse first = gateway.stub().modelInfer(request);
            assertEquals("exact", first.getParametersOrThrow("tier").getStringParam());
            assertEquals("2x", first.getParametersOrThrow("degraded_from").getStringParam());

            worker = awaitWorker(gateway);
            assertEquals(19, niceness(worker), "the worker runs at the lowest CPU priority");
            String command = String.join(" ", worker.info().arguments().orElse(new String[0]));
            assertTrue(command.contains("-Xmx2048m"), "with a heap of its own: " + command);
            assertTrue(command.contains("--host 127.0.0.1"), "listening on loopback only: " + command);

            ModelInferResponse served = first;
            long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(JOB_LIMIT_MINUTES);
            while (!served.getParametersOrThrow("tier").getStringParam().equals("2x")) {
                assertTrue(System.nanoTime() < until, "2x was not served within " + JOB_LIMIT_MINUTES
                        + " minutes:\n" + gateway.logText());
                assertTrue(worker.isAlive(), "the worker died:\n" + gateway.logText());
                Thread.sleep(2000);
                served = gateway.stub().modelInfer(request);
            }
            assertFalse(served.getParametersMap().containsKey("degraded_from"));
            String variant = served.getParametersOrThrow("variant").getStringParam();

            JsonNode manifest = new ObjectMapper().readTree(workDir.resolve("variants")
                    .resolve(MiniLmRepository.MODEL).resolve(variant).resolve("variant.json").toFile());
            assertTrue(DEFAULT_METHODS.contains(manifest.get("method").asText()), manifest.toString());
            assertTrue(manifest.get("measuredSpeedup").asDouble() >= 2.0, manifest.toString());
            JsonNode runtime = manifest.get("latency").get("runtime");
            assertEquals("CPU", runtime.get("provider").asText(), "measured on the serving runtime: " + runtime);
            assertEquals(1, runtime.get("threads").asInt(), runtime.toString());
            double cosine = manifest.get("quality").get("encoder").get("meanCosine").asDouble();
            assertTrue(cosine > 0.9, "a 2x tier of MiniLM-L6 keeps its embeddings: " + cosine);
            assertEquals("mean", manifest.get("parameters").get("pooling").asText(),
                    "quality measured on the embedding the text model serves");
            // The job measured int8 on this runtime before it chose (the quantized parent is always timed first).
            String log = gateway.logText();
            assertTrue(log.contains("int8: the parent quantized measured") || log.contains("int8 is not faster on"),
                    log);
            assertFalse(log.contains("running trimllm") || log.contains("running bonsai")
                    || log.contains("running parallel"), "the default job runs ZipLM only");
        }
        worker.onExit().get(1, TimeUnit.MINUTES); // the worker ends with the gateway
    }

    /** The gateway's worker process, once it has started. */
    private static ProcessHandle awaitWorker(PackagedGateway gateway) throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < until) {
            // `nice` replaces itself with java: the worker is a direct child of the gateway.
            var child = gateway.process().children().filter(p -> p.info().arguments()
                    .map(a -> List.of(a).contains("serve")).orElse(false)).findFirst();
            if (child.isPresent()) {
                return child.get();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no worker process started:\n" + gateway.logText());
    }

    /** The process's nice value, field 19 of {@code /proc/<pid>/stat}. */
    private static int niceness(ProcessHandle process) throws IOException {
        String stat = Files.readString(Path.of("/proc", String.valueOf(process.pid()), "stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[16]);
    }

    private static ByteString bytes(String text) {
        byte[] utf8 = text.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return ByteString.copyFrom(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN)
                .putInt(utf8.length).array()).concat(ByteString.copyFrom(utf8));
    }
}
