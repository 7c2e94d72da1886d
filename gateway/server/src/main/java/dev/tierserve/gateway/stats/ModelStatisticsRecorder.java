package dev.tierserve.gateway.stats;

import dev.tierserve.proto.inference.InferBatchStatistics;
import dev.tierserve.proto.inference.InferStatistics;
import dev.tierserve.proto.inference.ModelStatistics;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** Counters for one model version, updated lock-free by concurrent requests. */
public final class ModelStatisticsRecorder {

    private final String model;
    private final String version;
    private final AtomicLong lastInferenceMillis = new AtomicLong();
    private final LongAdder inferenceCount = new LongAdder();
    private final LongAdder executionCount = new LongAdder();
    private final Duration success = new Duration();
    private final Duration fail = new Duration();
    private final Duration queue = new Duration();
    private final Duration computeInput = new Duration();
    private final Duration computeInfer = new Duration();
    private final Duration computeOutput = new Duration();
    private final Map<Long, Duration[]> batches = new ConcurrentSkipListMap<>();

    ModelStatisticsRecorder(String model, String version) {
        this.model = model;
        this.version = version;
    }

    public void recordSuccess(InferenceTimings timings) {
        lastInferenceMillis.set(System.currentTimeMillis());
        inferenceCount.add(timings.batch());
        success.add(timings.total());
        queue.add(timings.queue());
        computeInput.add(timings.input());
        computeInfer.add(timings.infer());
        computeOutput.add(timings.output());
        if (timings.executionBatch() > 0) {
            // Triton's batch statistics: per execution, by the size of the batch it ran.
            executionCount.increment();
            Duration[] batch = batches.computeIfAbsent(timings.executionBatch(),
                    size -> new Duration[] {new Duration(), new Duration(), new Duration()});
            batch[0].add(timings.input());
            batch[1].add(timings.infer());
            batch[2].add(timings.output());
        }
    }

    public void recordFailure(long totalNanos) {
        lastInferenceMillis.set(System.currentTimeMillis());
        fail.add(totalNanos);
    }

    public ModelStatistics.Builder snapshot() {
        ModelStatistics.Builder stats = ModelStatistics.newBuilder()
                .setName(model)
                .setVersion(version)
                .setLastInference(lastInferenceMillis.get())
                .setInferenceCount(inferenceCount.sum())
                .setExecutionCount(executionCount.sum())
                .setInferenceStats(InferStatistics.newBuilder()
                        .setSuccess(success.snapshot())
                        .setFail(fail.snapshot())
                        .setQueue(queue.snapshot())
                        .setComputeInput(computeInput.snapshot())
                        .setComputeInfer(computeInfer.snapshot())
                        .setComputeOutput(computeOutput.snapshot()));
        batches.forEach((size, durations) -> stats.addBatchStats(InferBatchStatistics.newBuilder()
                .setBatchSize(size)
                .setComputeInput(durations[0].snapshot())
                .setComputeInfer(durations[1].snapshot())
                .setComputeOutput(durations[2].snapshot())));
        return stats;
    }
}
