package dev.tierserve.gateway.stats;

import dev.tierserve.gateway.repository.LatencyObjective;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.repository.ModelRepository;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;

/**
 * The tiers' declared latency objectives as a gauge, {@code tierserve_latency_objective_seconds{model, tier,
 * percentile}}, so that a dashboard draws them beside the measured percentiles.
 */
@ApplicationScoped
class ObjectiveMetrics {

    void register(@Observes StartupEvent event, ModelRepository repository, MeterRegistry meters) {
        for (ModelEntry model : repository.models()) {
            for (LatencyObjective objective : model.objectives()) {
                double seconds = objective.max().toNanos() / 1e9;
                Gauge.builder("tierserve_latency_objective_seconds", () -> seconds)
                        .tag("model", model.name()).tag("tier", objective.tier())
                        .tag("percentile", format(objective.percentile()))
                        .description("a tier's declared latency objective (config.pbtxt latency_objective.<tier>)")
                        .register(meters);
            }
        }
    }

    private static String format(double percentile) {
        return percentile == Math.rint(percentile) ? Long.toString((long) percentile) : Double.toString(percentile);
    }
}
