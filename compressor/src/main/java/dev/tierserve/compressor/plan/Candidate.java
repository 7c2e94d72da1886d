package dev.tierserve.compressor.plan;

/**
 * One variant the planner weighed for a tier.
 *
 * @param meanCosine      to the parent on held-out texts (NaN for decoders)
 * @param rejectedBecause null for the chosen candidate
 */
public record Candidate(String method, double targetSpeedup, double measuredSpeedup, double meanCosine,
                        double calibrationLoss, String rejectedBecause) {

    public boolean chosen() {
        return rejectedBecause == null;
    }
}
