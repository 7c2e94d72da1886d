package dev.tierserve.compressor.worker;

import dev.tierserve.compressor.plan.Method;
import dev.tierserve.store.RuntimeSettings;

import java.util.List;

/**
 * What a job gets when its request leaves a setting out: the serving runtime variants must be fast on, the
 * methods to run and the evaluation size.
 */
public record WorkerDefaults(RuntimeSettings runtime, List<Method> methods, int testTexts) {

    public WorkerDefaults {
        methods = List.copyOf(methods);
    }

    public static WorkerDefaults of(RuntimeSettings runtime) {
        return new WorkerDefaults(runtime, Method.defaults(), 300);
    }
}
