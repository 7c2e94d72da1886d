package dev.tierserve.gateway.stats;

import jakarta.enterprise.context.ApplicationScoped;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Statistics of every model version served since start-up, for ModelStatistics. */
@ApplicationScoped
public class ModelStatisticsRegistry {

    private final Map<String, ModelStatisticsRecorder> recorders = new ConcurrentHashMap<>();

    public ModelStatisticsRecorder recorder(String model, String version) {
        return recorders.computeIfAbsent(model + "\u0000" + version, key -> new ModelStatisticsRecorder(model, version));
    }

}
