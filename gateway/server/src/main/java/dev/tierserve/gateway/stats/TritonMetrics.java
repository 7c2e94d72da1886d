package dev.tierserve.gateway.stats;

import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * Inference metrics under Triton's family names and meanings (Prometheus adds {@code _total} to counters), labelled
 * {@code model}, {@code version} (the served tier, as in ModelStatistics), {@code tier}, {@code variant} and
 * {@code canary}: successes and failures by reason, inferences (batch rows) and executions, and cumulative request,
 * queue and compute microseconds; plus a request-duration histogram for SLO queries.
 */
@ApplicationScoped
public class TritonMetrics {

    /** Triton's failure reasons. */
    public enum Reason { REJECTED, CANCELED, BACKEND, OTHER }

    /** Where a request was served: the labels of its series. */
    public record Served(String model, String tier, String variant, boolean canary) {

        Tags tags() {
            return Tags.of("model", model, "version", tier, "tier", tier, "variant", variant,
                    "canary", Boolean.toString(canary));
        }
    }

    private final MeterRegistry meters;

    public TritonMetrics(MeterRegistry meters) {
        this.meters = meters;
    }

    public void recordSuccess(Served served, InferenceTimings timings) {
        Tags tags = served.tags();
        meters.counter("nv_inference_request_success", tags).increment();
        meters.counter("nv_inference_count", tags).increment(timings.batch());
        meters.counter("nv_inference_exec_count", tags).increment();
        micros("nv_inference_request_duration_us", tags, timings.total());
        micros("nv_inference_queue_duration_us", tags, timings.queue());
        micros("nv_inference_compute_input_duration_us", tags, timings.input());
        micros("nv_inference_compute_infer_duration_us", tags, timings.infer());
        micros("nv_inference_compute_output_duration_us", tags, timings.output());
        Timer.builder("tierserve_request_duration").tags(tags).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                .register(meters).record(timings.total(), TimeUnit.NANOSECONDS);
    }

    public void recordFailure(Served served, Status status) {
        meters.counter("nv_inference_request_failure", served.tags().and("reason", reason(status).name())).increment();
    }

    /** Refused by the queue (full, or a deadline it cannot meet), cancelled, failed in ONNX Runtime, or else. */
    static Reason reason(Status status) {
        return switch (status.getCode()) {
            case RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED, UNAVAILABLE -> Reason.REJECTED;
            case CANCELLED -> Reason.CANCELED;
            case INTERNAL, UNKNOWN, FAILED_PRECONDITION -> Reason.BACKEND;
            default -> Reason.OTHER;
        };
    }

    private void micros(String name, Tags tags, long nanos) {
        Counter counter = meters.counter(name, tags);
        counter.increment(nanos / 1000.0);
    }
}
