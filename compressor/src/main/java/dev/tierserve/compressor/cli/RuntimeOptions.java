package dev.tierserve.compressor.cli;

import dev.tierserve.store.RuntimeSettings;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** The serving-runtime options every measuring command shares (a picocli mixin). */
final class RuntimeOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--provider", defaultValue = "cpu", description = "cpu or cuda")
    RuntimeSettings.Provider provider;

    @Option(names = "--batch", defaultValue = "1", description = "batch size for latency")
    int batch;

    @Option(names = "--seq", defaultValue = "128", description = "sequence length for latency")
    int sequence;

    @Option(names = "--threads", defaultValue = "1", description = "intra-op threads")
    int threads;

    RuntimeSettings settings() {
        try {
            return new RuntimeSettings(provider, threads, batch, sequence);
        } catch (IllegalArgumentException e) { // a size below 1
            throw new ParameterException(spec.commandLine(), "--threads, --batch and --seq must be positive");
        }
    }
}
