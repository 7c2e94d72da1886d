package dev.tierserve.gateway.compression;

import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelKind;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.runtime.ExecutionProvider;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.tier.VariantCatalog;
import dev.tierserve.jobs.BearerToken;
import dev.tierserve.jobs.EmbeddedWorker;
import dev.tierserve.jobs.ModelLocator;
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
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.jboss.logging.Logger;

/** Chooses the compressor the gateway talks to from {@code gateway.compressor.mode}. */
@ApplicationScoped
public class CompressorClients {

    private static final Logger LOG = Logger.getLogger(CompressorClients.class);

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
        if (settings.mode() == GatewayConfig.Compressor.Mode.IN_PROCESS && EmbeddedWorker.factory().isEmpty()) {
            throw new IllegalStateException(InProcessCompressor.PACKAGED_WITHOUT);
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
            case IN_PROCESS -> {
                LOG.infof("compressor: in-process, store %s", catalog.store().describe());
                ModelLocator models = name -> repository.models().stream()
                        .filter(m -> m.name().equals(name) && m.kind() == ModelKind.ONNX).findFirst()
                        .map(m -> m.onnxFile());
                yield new InProcessCompressor(catalog.store(), models, servingRuntime(config, runtime));
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
