package dev.tierserve.store;

import java.net.URI;
import java.nio.file.Path;

/**
 * A second process for {@link S3VariantStoreTest}: appends {@code count} shadow-rate changes to one model's tier table
 * in an S3 store, each with its own reason ({@code <name>-<i>}), so the test can count what survived.
 * Arguments: endpoint, location, model, name, count, work directory.
 */
public final class TierChangeWriter {

    public static void main(String[] args) {
        Path work = Path.of(args[5]);
        S3VariantStore store = S3VariantStore.builder(args[1]).endpoint(URI.create(args[0]))
                .cache(work.resolve("cache"), 1L << 30).workDir(work).build();
        for (int i = 0; i < Integer.parseInt(args[4]); i++) {
            store.updateTiers(args[2], new TierChange.Shadow("2x", 0.5, "writer", args[3] + "-" + i,
                    java.time.Instant.now().toString()));
        }
        store.close();
    }
}
