package dev.tierserve.compressor.store;

import java.nio.file.Path;

/** A published variant: its directory in the store and its manifest. */
public record StoredVariant(String model, String id, Path directory, VariantManifest manifest) {

    public static final String MODEL_FILE = "model.onnx";
    public static final String MANIFEST_FILE = "variant.json";

    public Path modelFile() {
        return directory.resolve(MODEL_FILE);
    }

    public String tier() {
        return TierNames.format(manifest.targetSpeedup());
    }

    /** Mean cosine to the parent on held-out texts; NaN for decoders, which report perplexity instead. */
    public double meanCosine() {
        VariantManifest.Quality quality = manifest.quality();
        return quality == null || quality.encoder() == null ? Double.NaN : quality.encoder().meanCosine();
    }
}
