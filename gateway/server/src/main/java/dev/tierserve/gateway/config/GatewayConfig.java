package dev.tierserve.gateway.config;

import dev.tierserve.gateway.runtime.ExecutionProvider;
import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/** Everything an operator can set on the gateway, under the {@code gateway.} prefix. */
@ConfigMapping(prefix = "gateway")
public interface GatewayConfig {

    /** Directory of models: one folder per model with {@code config.pbtxt} and {@code model.onnx}. */
    @WithDefault("models")
    Path repository();

    /** Extract the bundled BGE-small-en-v1.5 into the repository when it is missing there. */
    @WithDefault("true")
    boolean embeddedDefault();

    /** Models loaded and warmed up before the server reports ready. */
    @WithDefault("bge-small-en-v1.5")
    List<String> preload();

    Onnx onnx();

    Inference inference();

    Cache cache();

    Variants variants();

    Compressor compressor();

    Admin admin();

    Rollout rollout();

    interface Admin {
        /**
         * A file holding the admin token ({@code GATEWAY_ADMIN_TOKEN_FILE}); admin calls must carry it as
         * {@code authorization: Bearer <token>}. Unset: every admin call is refused.
         */
        Optional<Path> tokenFile();
    }

    /** How canaries are judged: every interval, over the requests since the last judgement. */
    interface Rollout {
        /** How often each canary is judged. */
        @WithDefault("30s")
        Duration interval();

        /**
         * Canary requests (served or compared in shadow) a judgement needs; fewer: no decision this interval. 100, so
         * that the tail latency compared (p90 below 1,000 requests) is not decided by one or two slow runs.
         */
        @WithDefault("100")
        int minRequests();

        /** Weight added to a canary that passes a judgement. */
        @WithDefault("0.1")
        double stepWeight();

        /** The highest weight stepped to; a canary that passes at it is promoted. */
        @WithDefault("0.5")
        double maxWeight();

        /** Consecutive failed judgements that roll a canary back. */
        @WithDefault("2")
        int failureThreshold();

        /** How far below the canary's measured quality (manifest mean cosine) its agreement with exact may fall. */
        @WithDefault("0.02")
        double qualityTolerance();

        /** How much slower the canary's p99 may be than the stable variant's (1.2: 20% slower). */
        @WithDefault("1.2")
        double latencyTolerance();

        /** How much higher the canary's error rate may be than the stable variant's (absolute). */
        @WithDefault("0.01")
        double errorTolerance();
    }

    interface Onnx {
        /** {@code cpu}, {@code cuda}, or {@code auto}: CUDA when its provider can be created, else CPU. */
        @WithDefault("auto")
        ExecutionProvider executionProvider();

        /** Intra-op threads of every session; 1 keeps one request per core predictable. */
        @WithDefault("1")
        int intraOpThreads();

        /** CUDA device id when the CUDA provider is used. */
        @WithDefault("0")
        int cudaDevice();
    }

    interface Inference {
        /** Inference worker threads; requests never run on the gRPC event loop. */
        Optional<Integer> workers();

        /** Requests waiting for a worker; beyond it requests fail fast with RESOURCE_EXHAUSTED. */
        @WithDefault("256")
        int queueCapacity();

        /** Largest batch (first dimension) a request may carry. */
        @WithDefault("64")
        int maxBatchSize();

        /**
         * A file holding the inference token ({@code GATEWAY_INFERENCE_TOKEN_FILE}); when set, inference calls must
         * carry {@code authorization: Bearer <token>}. ServerLive and ServerReady stay open for probes.
         */
        Optional<Path> tokenFile();

        /**
         * Calls one client address may have in flight; more are RESOURCE_EXHAUSTED, so one busy client cannot
         * take the whole queue.
         */
        @WithDefault("64")
        int maxInFlightPerClient();

        /** HTTP/2 streams one connection may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS). */
        @WithDefault("128")
        int maxConcurrentCallsPerConnection();
    }

    interface Cache {
        /** Upper bound on the summed size of loaded sessions, in bytes (weights are weighed by file size). */
        @WithDefault("4294967296")
        long maxBytes();
    }

    interface Variants {
        /**
         * The variant store: a directory ({@code <store>/<model>/<variant id>/model.onnx + variant.json}, and
         * tiers.json), or {@code s3://<bucket>[/<prefix>]} for a store shared by several gateways and workers.
         */
        @WithDefault("variants")
        String store();

        /** An S3 store's settings; credentials come from the AWS SDK's sources (AWS_ACCESS_KEY_ID, ...). */
        S3 s3();

        interface S3 {
            /** An S3-compatible server instead of AWS (path-style addressing), e.g. http://minio:9000. */
            Optional<java.net.URI> endpoint();

            @WithDefault("us-east-1")
            String region();

            /** Where downloaded variant model files are kept. */
            @WithDefault("variant-cache")
            Path cacheDir();

            /** Upper bound on the downloaded model files kept, in bytes (least recently used go first). */
            @WithDefault("8589934592")
            long cacheMaxBytes();

            /** Local files of the local compressor beside an S3 store (job records, latency tables). */
            @WithDefault("store-work")
            Path workDir();
        }

        /** How often the store is re-read, so that variants published by other processes are served. */
        @WithDefault("1s")
        Duration watchInterval();
    }

    interface Compressor {
        enum Mode { LOCAL, REMOTE, OFF }

        /**
         * {@code local}: the gateway starts its own worker, a child process at the lowest CPU priority with a heap of
         * its own; {@code remote}: a worker elsewhere ({@code compressor serve}); {@code off}: no compression.
         */
        @WithDefault("local")
        Mode mode();

        /** The local worker's maximum heap (the JVM's {@code -Xmx}); a job that would not fit in it is refused. */
        @WithDefault("2G")
        io.quarkus.runtime.configuration.MemorySize heap();

        /** host:port of a remote compressor worker. */
        Optional<String> address();

        /** TLS to the remote worker; without it the channel is plain text. */
        Tls tls();

        /** A file holding the bearer token the remote worker requires ({@code compressor serve --token-file}). */
        Optional<Path> tokenFile();

        /**
         * TLS to the worker. {@code ca} is required with any of these: the worker's certificate is checked against it
         * alone, never against the system's roots. {@code cert} and {@code key} present the gateway's own certificate
         * (mutual TLS).
         */
        interface Tls {
            /** PEM CA certificates that signed the worker's certificate. */
            Optional<Path> ca();

            /** PEM certificate chain of the gateway, for a worker that requires client certificates. */
            Optional<Path> cert();

            /** PEM PKCS#8 private key of {@code cert}. */
            Optional<Path> key();
        }

        /** Methods for on-the-fly jobs ({@code all} for every method); none given: the worker's default (ZipLM). */
        Optional<List<String>> methods();

        /**
         * Precisions on-the-fly jobs may build tiers at ({@code float32}, {@code int8}); none given: both. With int8
         * (where the quantized parent measures faster) the quantized parent and quantized structured variants are
         * candidates too, each measured.
         */
        Optional<List<Precision>> precisions();

        /** The arithmetic of a variant's linear layers. */
        enum Precision {
            FLOAT32,
            /** Dynamic int8 quantization of the MatMuls (pays on CPUs with 8-bit dot-product instructions). */
            INT8
        }

        /** Calibration texts per method; 0: each method's default. */
        @WithDefault("0")
        int calibrationTexts();

        /** Held-out texts for a variant's quality; 0: the worker's default. */
        @WithDefault("0")
        int testTexts();

        /** The request shape variants are timed on: batch size and sequence length. */
        @WithDefault("1")
        int batch();

        @WithDefault("128")
        int sequence();

        /** Mean cosine below which a tier publishes nothing; 0: no minimum. */
        @WithDefault("0")
        double minQuality();

        /** After a job ends without a variant for a tier, how long before a request may start another one. */
        @WithDefault("10m")
        Duration retryAfter();
    }
}
