package dev.tierserve.store;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Where published variants, their tier tables and the planner's unreached records live (DESIGN.md's variant store):
 * a directory ({@link FileVariantStore}) or an S3 bucket ({@link S3VariantStore}), the same contract for both. A
 * variant becomes visible only once complete, and its checksum is verified whenever its model file is handed out for
 * loading.
 */
public interface VariantStore {

    /** The store under a local (or shared-filesystem) directory. */
    static FileVariantStore filesystem(Path root) {
        return new FileVariantStore(root);
    }

    /** For logs: where the store is. */
    String describe();

    /** A local directory for this process' own files beside the store (latency tables, job records). */
    Path workDir();

    /** Every complete variant of {@code model}, oldest first; unreadable manifests are skipped. */
    List<StoredVariant> variants(String model);

    default Optional<StoredVariant> variant(String model, String id) {
        return variants(model).stream().filter(v -> v.id().equals(id)).findFirst();
    }

    /**
     * A local copy of the variant's model file, checked against the manifest's sha256.
     *
     * @throws CorruptVariantException when the file is missing or its checksum differs
     */
    Path verifiedModelFile(StoredVariant variant);

    List<UnreachedTarget> unreached(String model);

    TierTable tiers(String model);

    /**
     * Applies {@code change} to the model's tier table without losing a change made at the same time by another
     * process.
     *
     * @return the table with the change applied
     * @throws RejectedTierChange when the change's precondition does not hold
     */
    TierTable updateTiers(String model, TierChange change);

    /**
     * Publishes a variant: visible to readers only once its model file and manifest are complete.
     *
     * @param manifest given the model file's sha256, the manifest to write beside it
     * @return where it was published, for logs
     */
    String publish(String model, String variantId, ModelFileWriter modelFile, Function<String, VariantManifest> manifest);

    /** Records a target a method could not reach (replacing an older record for the same method, tier and runtime). */
    void recordUnreached(String model, String tier, UnreachedTarget record);

    /** The compression jobs kept in this store, and their leases. */
    JobQueue jobs();

    /** Removes what a killed publisher left behind, older than {@code minAgeMillis}; the number removed. */
    int removeAbandonedStaging(String model, long minAgeMillis);
}
