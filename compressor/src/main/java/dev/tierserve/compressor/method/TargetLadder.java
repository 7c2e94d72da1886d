package dev.tierserve.compressor.method;

import java.util.ArrayList;
import java.util.List;

/**
 * The speedup targets a method has yet to reach, lowest first. Methods that make a model ever faster (a pruning
 * trajectory, wider parallel windows) measure each step once; the step takes every pending target it reaches.
 */
public final class TargetLadder {

    private final List<Double> pending;

    public TargetLadder(List<Double> targets) {
        this.pending = new ArrayList<>(targets.stream().sorted().toList());
    }

    public boolean isEmpty() {
        return pending.isEmpty();
    }

    /** The lowest pending target. */
    public double next() {
        if (pending.isEmpty()) {
            throw new IllegalStateException("no target left");
        }
        return pending.get(0);
    }

    /** Removes and returns the pending targets a model measured at {@code speedup} reaches, lowest first. */
    public List<Double> reachedBy(double speedup) {
        List<Double> reached = new ArrayList<>();
        while (!pending.isEmpty() && speedup >= pending.get(0)) {
            reached.add(pending.remove(0));
        }
        return reached;
    }

    /** The targets still pending, each as unreached by {@code method} with the best speedup it measured. */
    public List<Unreached> unreached(String method, double bestMeasured, String reason) {
        return pending.stream().map(t -> new Unreached(method, t, bestMeasured, reason)).toList();
    }
}
