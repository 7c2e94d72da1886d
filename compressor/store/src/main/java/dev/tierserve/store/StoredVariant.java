package dev.tierserve.store;

/** A published variant of a model: its id in the store and its manifest. */
public record StoredVariant(String model, String id, VariantManifest manifest) {

    public static final String MODEL_FILE = "model.onnx";
    /**
     * The external data file beside {@link #MODEL_FILE}, for a model too large for one protobuf message (2 GB): ONNX's
     * external data, named so by the project's writer. A variant has one or none.
     */
    public static final String DATA_FILE = MODEL_FILE + ".data";
    public static final String MANIFEST_FILE = "variant.json";

    public String tier() {
        return TierNames.format(manifest.targetSpeedup());
    }

    /** Mean cosine to the parent on held-out texts; NaN for decoders, which report perplexity instead. */
    public double meanCosine() {
        VariantManifest.Quality quality = manifest.quality();
        return quality == null || quality.encoder() == null ? Double.NaN : quality.encoder().meanCosine();
    }
}
