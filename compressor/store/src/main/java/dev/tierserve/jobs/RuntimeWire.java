package dev.tierserve.jobs;

import dev.tierserve.store.RuntimeSettings;

import java.util.Locale;

/** Runtime settings to and from the compressor contract's {@code RuntimeSettings} message. */
public final class RuntimeWire {

    private RuntimeWire() {
    }

    public static dev.tierserve.proto.compressor.RuntimeSettings toWire(RuntimeSettings settings) {
        return dev.tierserve.proto.compressor.RuntimeSettings.newBuilder()
                .setProvider(settings.provider().name().toLowerCase(Locale.ROOT)).setThreads(settings.threads())
                .setBatch(settings.batch()).setSequence(settings.sequence()).build();
    }

    /** @throws IllegalArgumentException for an unknown provider or a non-positive size */
    public static RuntimeSettings fromWire(dev.tierserve.proto.compressor.RuntimeSettings settings) {
        return new RuntimeSettings(RuntimeSettings.Provider.valueOf(settings.getProvider().toUpperCase(Locale.ROOT)),
                settings.getThreads(), settings.getBatch(), settings.getSequence());
    }
}
