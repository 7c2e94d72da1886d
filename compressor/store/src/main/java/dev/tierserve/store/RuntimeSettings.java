package dev.tierserve.store;

import java.util.Locale;

/**
 * The serving runtime a measurement is taken on: execution provider, intra-op threads, batch size and
 * sequence length. A measured speedup is only valid for the settings it was measured with.
 */
public record RuntimeSettings(Provider provider, int threads, int batch, int sequence) {

    public enum Provider { CPU, CUDA }

    public RuntimeSettings {
        if (threads < 1 || batch < 1 || sequence < 1) {
            throw new IllegalArgumentException("threads, batch and sequence must be positive");
        }
    }

    public static RuntimeSettings cpu(int threads, int batch, int sequence) {
        return new RuntimeSettings(Provider.CPU, threads, batch, sequence);
    }

    /** Threads for calibration and scoring passes, which are not latency measurements: every core. */
    public int calibrationThreads() {
        return Math.max(threads, Runtime.getRuntime().availableProcessors());
    }

    /** A file-name-safe key, e.g. {@code cpu-t1-b1-s128}. */
    public String key() {
        return String.format(Locale.ROOT, "%s-t%d-b%d-s%d", provider.name().toLowerCase(Locale.ROOT), threads, batch,
                sequence);
    }
}
