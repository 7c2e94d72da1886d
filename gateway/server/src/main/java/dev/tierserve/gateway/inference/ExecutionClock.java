package dev.tierserve.gateway.inference;

/**
 * Splits one execution's time into the protocol's compute phases: input (binding, and concatenating a batch), infer
 * (the ONNX Runtime call) and output (splitting, pooling and encoding). Every request of the execution is charged
 * the same phases, as in Triton.
 */
final class ExecutionClock {

    private long mark = System.nanoTime();
    private long input;
    private long infer;
    private long output;

    void inputDone() {
        input = lap();
    }

    void inferDone() {
        infer = lap();
    }

    void outputDone() {
        output = lap();
    }

    long input() {
        return input;
    }

    long infer() {
        return infer;
    }

    long output() {
        return output;
    }

    private long lap() {
        long now = System.nanoTime();
        long elapsed = now - mark;
        mark = now;
        return elapsed;
    }
}
