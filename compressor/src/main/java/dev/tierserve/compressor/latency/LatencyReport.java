package dev.tierserve.compressor.latency;

import dev.tierserve.store.RuntimeSettings;

import java.util.List;
import java.util.Locale;

/**
 * Medians of one interleaved measurement.
 *
 * @param rounds  all rounds measured, the repeated ones included
 * @param repeats how many extra blocks of rounds an undecided comparison against a target took
 */
public record LatencyReport(RuntimeSettings settings, int warmupRuns, int rounds, int repeats, List<Entry> entries) {

    /**
     * @param speedup     the median over rounds of the parent's time (the first entry's) over this one's
     * @param speedupLow  the low end of the speedup's 90% distribution-free interval
     * @param speedupHigh its high end
     */
    public record Entry(String name, double medianMs, double p10Ms, double p90Ms, double speedup, double speedupLow,
                        double speedupHigh) {
    }

    public Entry entry(String name) {
        return entries.stream().filter(e -> e.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no entry " + name));
    }

    public String render() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "provider %s, %d intra-op thread(s), batch %d x sequence %d, %d warm-up runs, %d interleaved rounds%s%n",
                settings.provider(), settings.threads(), settings.batch(), settings.sequence(), warmupRuns, rounds,
                repeats == 0 ? "" : " (" + repeats + " block(s) repeated: too close to call)"));
        out.append(String.format(Locale.ROOT, "%-40s %10s %10s %10s %8s %15s%n", "model", "median ms", "p10 ms",
                "p90 ms", "speedup", "90% interval"));
        for (Entry e : entries) {
            out.append(String.format(Locale.ROOT, "%-40s %10.2f %10.2f %10.2f %7.2fx %7.2f-%.2fx%n", e.name(),
                    e.medianMs(), e.p10Ms(), e.p90Ms(), e.speedup(), e.speedupLow(), e.speedupHigh()));
        }
        return out.toString();
    }
}
