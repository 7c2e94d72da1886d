package dev.tierserve.gateway.compression;

import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.runtime.ExecutionProvider;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.jobs.BearerToken;
import dev.tierserve.jobs.WorkerMain;
import dev.tierserve.proto.compressor.Job;
import dev.tierserve.proto.compressor.SubmitJobRequest;
import dev.tierserve.store.RuntimeSettings;
import io.grpc.ChannelCredentials;
import io.grpc.Status;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import jakarta.enterprise.inject.Disposes;
import jakarta.enterprise.inject.Produces;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.jboss.logging.Logger;

/** Chooses the compressor the gateway talks to from {@code gateway.compressor.mode}. */
@ApplicationScoped
public class CompressorClients {

    private static final Logger LOG = Logger.getLogger(CompressorClients.class);

    static final String PACKAGED_WITHOUT = "gateway.compressor.mode=local needs the compressor, and this gateway was"
            + " packaged without it (quarkus-app-remote); set gateway.compressor.mode=remote with"
            + " gateway.compressor.address, or off";

    /** The runtime the gateway serves on: what a variant must be measured fast on. */
    public static RuntimeSettings servingRuntime(GatewayConfig config, OnnxRuntimeFactory runtime) {
        return new RuntimeSettings(runtime.provider() == ExecutionProvider.CUDA ? RuntimeSettings.Provider.CUDA
                : RuntimeSettings.Provider.CPU, runtime.intraOpThreads(), config.compressor().batch(),
                config.compressor().sequence());
    }

    /**
     * Says at start, not at the first request for a missing tier, that this packaging cannot run the mode asked for, or
     * that the remote worker's settings are incomplete.
     */
    void checkMode(@Observes StartupEvent event, GatewayConfig config) {
        GatewayConfig.Compressor settings = config.compressor();
        if (settings.mode() == GatewayConfig.Compressor.Mode.LOCAL && WorkerMain.find().isEmpty()) {
            throw new IllegalStateException(PACKAGED_WITHOUT);
        }
        if (settings.mode() == GatewayConfig.Compressor.Mode.REMOTE) {
            address(settings);
            RemoteCompressor.credentials(settings.tls());
            settings.tokenFile().ifPresent(BearerToken::read);
        }
    }

    private static String address(GatewayConfig.Compressor settings) {
        return settings.address().orElseThrow(() -> new IllegalStateException(
                "gateway.compressor.mode=remote needs gateway.compressor.address (host:port)"));
    }

    @Produces
    @ApplicationScoped
    CompressorClient client(GatewayConfig config, ModelRepository repository, VariantCatalog catalog,
                            OnnxRuntimeFactory runtime) {
        GatewayConfig.Compressor settings = config.compressor();
        return switch (settings.mode()) {
            case LOCAL -> {
                LOG.infof("compressor: a local worker process, store %s", catalog.store().describe());
                Map<String, Path> models = new LinkedHashMap<>();
                repository.models().stream().filter(m -> m.kind() == ModelKind.ONNX)
                        .forEach(m -> models.put(m.name(), m.onnxFile()));
                Class<?> main = WorkerMain.find().orElseThrow(() -> new IllegalStateException(PACKAGED_WITHOUT))
                        .mainClass();
                yield new LocalCompressor(new WorkerCommand(main, settings.heap().asLongValue(), config.variants(),
                        servingRuntime(config, runtime), models));
            }
            case REMOTE -> {
                String address = address(settings);
                ChannelCredentials credentials = RemoteCompressor.credentials(settings.tls());
                Optional<BearerToken> token = settings.tokenFile().map(BearerToken::read);
                LOG.infof("compressor: remote worker at %s (%s%s)", address, settings.tls().ca().isEmpty() ? "plain text"
                        : settings.tls().cert().isEmpty() ? "TLS" : "mutual TLS", token.isEmpty() ? ""
                        : ", bearer token from " + settings.tokenFile().get());
                yield new RemoteCompressor(address, credentials, token);
            }
            case OFF -> new Disabled();
        };
    }

    void close(@Disposes CompressorClient client) {
        client.close();
    }

    /** No compressor: tiers without a variant stay unavailable. */
    private static final class Disabled implements CompressorClient {
        @Override
        public CompletableFuture<Job> submit(SubmitJobRequest request) {
            return CompletableFuture.failedFuture(Status.UNAVAILABLE
                    .withDescription("on-the-fly compression is off (gateway.compressor.mode=off)").asRuntimeException());
        }

        @Override
        public CompletableFuture<Job> job(String id) {
            return submit(null);
        }

        @Override
        public void close() {
        }
    }
}
