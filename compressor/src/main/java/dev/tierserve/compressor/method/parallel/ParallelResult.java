package dev.tierserve.compressor.method.parallel;

import dev.tierserve.compressor.method.CompressedVariant;
import dev.tierserve.compressor.method.MethodResult;
import dev.tierserve.compressor.method.Unreached;

import java.util.List;

/**
 * Everything the window search measured.
 *
 * @param windows every window tried with its calibration loss
 * @param widths  per number of pairs, the best window's measured speedup in plain and fused form
 */
public record ParallelResult(List<Window> windows, List<Width> widths, List<CompressedVariant> variants,
                             List<Unreached> unreached)
        implements MethodResult {

    /** Pairs (start, start+1), …, (start+2·pairs−2, start+2·pairs−1) run in parallel. */
    public record Window(int start, int pairs, double calibrationLoss) {

        public String label() {
            return pairs + " pair(s) from layer " + start;
        }
    }

    public record Width(Window best, double plainSpeedup, double fusedSpeedup, double parentMs, double plainMs,
                        double fusedMs) {
    }
}
