package dev.tierserve.compressor.cli;

import dev.tierserve.compressor.runtime.RuntimeSettings;
import picocli.CommandLine.Option;

import java.util.Locale;

/** The serving-runtime options every measuring command shares (a picocli mixin). */
final class RuntimeOptions {

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu or cuda")
    String provider;

    @Option(names = "--batch", defaultValue = "1", description = "batch size for latency")
    int batch;

    @Option(names = "--seq", defaultValue = "128", description = "sequence length for latency")
    int sequence;

    @Option(names = "--threads", defaultValue = "1", description = "intra-op threads")
    int threads;

    RuntimeSettings settings() {
        return new RuntimeSettings(RuntimeSettings.Provider.valueOf(provider.toUpperCase(Locale.ROOT)), threads, batch,
                sequence);
    }
}
