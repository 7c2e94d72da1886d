package dev.tierserve.compressor.latency;

import dev.tierserve.store.RuntimeSettings;

import java.util.List;
import java.util.Locale;

/** Medians of one interleaved measurement; speedup is the parent's (first entry's) median over each median. */
public record LatencyReport(RuntimeSettings settings, int warmupRuns, int rounds, List<Entry> entries) {

    public record Entry(String name, double medianMs, double p10Ms, double p90Ms, double speedup) {
    }

    public Entry entry(String name) {
        return entries.stream().filter(e -> e.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no entry " + name));
    }

    public String render() {
        StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                "provider %s, %d intra-op thread(s), batch %d x sequence %d, %d warm-up runs, %d interleaved rounds%n",
                settings.provider(), settings.threads(), settings.batch(), settings.sequence(), warmupRuns, rounds));
        out.append(String.format(Locale.ROOT, "%-40s %10s %10s %10s %8s%n", "model", "median ms", "p10 ms", "p90 ms",
                "speedup"));
        for (Entry e : entries) {
            out.append(String.format(Locale.ROOT, "%-40s %10.2f %10.2f %10.2f %7.2fx%n", e.name(), e.medianMs(),
                    e.p10Ms(), e.p90Ms(), e.speedup()));
        }
        return out.toString();
    }
}
