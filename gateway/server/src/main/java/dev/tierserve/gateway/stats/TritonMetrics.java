package dev.tierserve.gateway.stats;

import io.grpc.Status;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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

    /** The meters of one series, registered once: requests only increment them. */
    private record SeriesMeters(Counter success, Counter inferences, Counter executions, Counter requestMicros,
                                Counter queueMicros, Counter inputMicros, Counter inferMicros, Counter outputMicros,
                                Timer duration) {
    }

    private final MeterRegistry meters;
    private final Map<Served, SeriesMeters> series = new ConcurrentHashMap<>();

    public TritonMetrics(MeterRegistry meters) {
        this.meters = meters;
    }

    public void recordSuccess(Served served, InferenceTimings timings) {
        SeriesMeters m = series.computeIfAbsent(served, this::register);
        m.success().increment();
        m.inferences().increment(timings.batch());
        if (timings.executionBatch() > 0) {
            m.executions().increment();
        }
        m.requestMicros().increment(timings.total() / 1000.0);
        m.queueMicros().increment(timings.queue() / 1000.0);
        m.inputMicros().increment(timings.input() / 1000.0);
        m.inferMicros().increment(timings.infer() / 1000.0);
        m.outputMicros().increment(timings.output() / 1000.0);
        m.duration().record(timings.total(), TimeUnit.NANOSECONDS);
    }

    public void recordFailure(Served served, Status status) {
        meters.counter("nv_inference_request_failure", served.tags().and("reason", reason(status).name())).increment();
    }

    private SeriesMeters register(Served served) {
        Tags tags = served.tags();
        return new SeriesMeters(meters.counter("nv_inference_request_success", tags),
                meters.counter("nv_inference_count", tags), meters.counter("nv_inference_exec_count", tags),
                meters.counter("nv_inference_request_duration_us", tags),
                meters.counter("nv_inference_queue_duration_us", tags),
                meters.counter("nv_inference_compute_input_duration_us", tags),
                meters.counter("nv_inference_compute_infer_duration_us", tags),
                meters.counter("nv_inference_compute_output_duration_us", tags),
                Timer.builder("tierserve_request_duration").tags(tags).publishPercentileHistogram()
                        .minimumExpectedValue(Duration.ofMillis(1)).maximumExpectedValue(Duration.ofSeconds(30))
                        .register(meters));
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
}
