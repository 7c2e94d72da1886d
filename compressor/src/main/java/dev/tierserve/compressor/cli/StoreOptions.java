package dev.tierserve.compressor.cli;

import dev.tierserve.store.S3VariantStore;
import dev.tierserve.store.VariantStore;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;

/** Where the variant store is: a directory, or {@code s3://bucket/prefix} with its S3 settings. */
final class StoreOptions {

    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = {"--store", "--out"}, defaultValue = "variants", description = "the variant store: a directory, "
            + "or s3://<bucket>[/<prefix>] (credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or the AWS "
            + "SDK's other sources)")
    String store;

    @Option(names = "--s3-endpoint", description = "an S3-compatible server instead of AWS, e.g. http://minio:9000")
    URI endpoint;

    @Option(names = "--s3-region", defaultValue = "us-east-1")
    String region;

    @Option(names = "--cache-dir", defaultValue = "variant-cache", description = "where an S3 store's downloads are kept")
    Path cacheDir;

    @Option(names = "--work-dir", defaultValue = "store-work", description = "local files of an S3 store's worker "
            + "(job records, latency tables)")
    Path workDir;

    @Option(names = "--lease-seconds", defaultValue = "30", description = "how long an S3 store's job lease lasts "
            + "without renewal: a dead worker's job is taken over after it")
    int leaseSeconds;

    VariantStore open() {
        if (!S3VariantStore.isS3(store)) {
            return VariantStore.filesystem(Path.of(store));
        }
        try {
            S3VariantStore.Builder builder = S3VariantStore.builder(store).region(region).cache(cacheDir, 8L << 30)
                    .workDir(workDir).leases(Duration.ofSeconds(Math.max(3, leaseSeconds)), Duration.ofSeconds(2));
            return (endpoint == null ? builder : builder.endpoint(endpoint)).build();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--store: " + e.getMessage());
        }
    }
}
