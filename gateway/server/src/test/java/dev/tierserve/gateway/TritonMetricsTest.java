package dev.tierserve.gateway;

import static dev.tierserve.gateway.GatewayTestClient.BGE;
import static dev.tierserve.gateway.GatewayTestClient.bertRequest;
import static dev.tierserve.gateway.GatewayTestClient.failure;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.tierserve.proto.inference.ModelStatistics;
import dev.tierserve.proto.inference.ModelStatisticsRequest;
import io.grpc.Status;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus endpoint exports Triton's inference families, labelled by model, version, tier, variant and canary,
 * and they agree with ModelStatistics over gRPC; the session cache's hits and misses and the compression jobs by
 * state are there too.
 */
@QuarkusTest
@QuarkusTestResource(TestModels.class)
class TritonMetricsTest extends ConnectedGatewayTest {

    static final Path DASHBOARD = Path.of("../../deploy/kubernetes/base/tierserve-dashboard.json");

    @TestHTTPResource("/q/metrics")
    URL metrics;

    @Test
    void tritonFamiliesAgreeWithModelStatistics() throws Exception {
        for (int i = 0; i < 3; i++) {
            client.stub.modelInfer(bertRequest(BGE, 2, 8, i).build());
        }
        failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 2, 8, 1)
                .setInputs(0, bertRequest(BGE, 2, 8, 1).getInputs(0).toBuilder().setDatatype("FP32")).build()));

        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(metrics.toString())).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        ModelStatistics stats = client.stub.modelStatistics(ModelStatisticsRequest.newBuilder().setName(BGE)
                .setVersion("exact").build()).getModelStats(0);
        String labels = "model=\"" + BGE + "\",tier=\"exact\",variant=\"parent\",version=\"exact\"";
        assertEquals(stats.getInferenceStats().getSuccess().getCount(),
                sample(text, "nv_inference_request_success_total", "canary=\"false\"," + labels), 0.0);
        assertEquals(stats.getExecutionCount(), sample(text, "nv_inference_exec_count_total", "canary=\"false\"," + labels), 0.0);
        assertEquals(stats.getInferenceCount(), sample(text, "nv_inference_count_total", "canary=\"false\"," + labels), 0.0);
        assertTrue(stats.getInferenceCount() >= 6, "batches of 2 count two inferences each");
        assertEquals(stats.getInferenceStats().getQueue().getNs() / 1000.0,
                sample(text, "nv_inference_queue_duration_us_total", "canary=\"false\"," + labels),
                stats.getExecutionCount() + 1.0, "queue microseconds, up to rounding per request");
        assertTrue(sample(text, "nv_inference_request_failure_total", "canary=\"false\",model=\"" + BGE
                + "\",reason=\"OTHER\",tier=\"exact\",variant=\"parent\",version=\"exact\"") >= 1,
                "the malformed request counts as a failure, reason OTHER");
        assertTrue(text.contains("tierserve_request_duration_seconds_bucket{"), "a request-duration histogram");
        assertTrue(text.contains("nv_inference_pending_request_count{model=\"" + BGE + "\"}"), "pending gauge");
        assertTrue(sample(text, "cache_gets_total", "cache=\"sessions\",result=\"hit\"") >= 3,
                "each request found its session in the cache");
        assertTrue(text.contains("tierserve_compression_jobs{state=\"running\"}"), "jobs by state");
        assertEquals(0.04, sample(text, "tierserve_latency_objective_seconds",
                "model=\"" + TestModels.QUEUED + "\",percentile=\"99\",tier=\"exact\""), 1e-9,
                "the declared objective, beside the measured latency");
    }

    /** Every series the Grafana dashboard in deploy/ queries is one this gateway exports. */
    @Test
    void theDashboardQueriesOnlyExportedMetrics() throws Exception {
        // A success and a failure, so that every series family has appeared.
        client.stub.modelInfer(bertRequest(BGE, 1, 8, 1).build());
        failure(Status.Code.INVALID_ARGUMENT, () -> client.stub.modelInfer(bertRequest(BGE, 1, 8, 1)
                .setInputs(0, bertRequest(BGE, 1, 8, 1).getInputs(0).toBuilder().setDatatype("FP32")).build()));
        String text = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(metrics.toString())).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
        Set<String> queried = new TreeSet<>();
        Pattern metric = Pattern.compile("\\b(?:nv|tierserve|gateway|cache)_[a-z0-9_]+");
        for (JsonNode panel : dashboard.get("panels")) {
            for (JsonNode target : panel.get("targets")) {
                Matcher m = metric.matcher(target.get("expr").asText());
                while (m.find()) {
                    queried.add(m.group());
                }
            }
        }
        assertTrue(queried.size() >= 10, queried.toString());
        for (String name : queried) {
            assertTrue(Pattern.compile("(?m)^" + Pattern.quote(name) + "[{ ]").matcher(text).find(),
                    "the dashboard queries " + name + ", which /q/metrics does not export");
        }
    }

    /** The value of one labelled sample (labels in Prometheus' alphabetical order). */
    private static double sample(String exposition, String name, String labels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name + "{" + labels + "}") + " ([0-9.eE+-]+)$")
                .matcher(exposition);
        assertTrue(m.find(), name + "{" + labels + "} is exported:\n" + exposition.lines()
                .filter(l -> l.startsWith(name)).reduce("", (a, b) -> a + b + "\n"));
        return Double.parseDouble(m.group(1));
    }
}
