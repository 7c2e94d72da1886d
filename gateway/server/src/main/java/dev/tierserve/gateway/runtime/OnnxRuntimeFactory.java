package dev.tierserve.gateway.runtime;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import dev.tierserve.gateway.config.GatewayConfig;
import jakarta.enterprise.context.ApplicationScoped;
import java.nio.file.Path;
import org.jboss.logging.Logger;

/**
 * Owns the process's single {@link OrtEnvironment} and creates sessions for the resolved execution provider.
 * The provider is resolved once, at construction, and logged once.
 */
@ApplicationScoped
public class OnnxRuntimeFactory {

    private static final Logger LOG = Logger.getLogger(OnnxRuntimeFactory.class);

    private final OrtEnvironment environment = OrtEnvironment.getEnvironment();
    private final ExecutionProvider provider;
    private final int intraOpThreads;
    private final int cudaDevice;

    public OnnxRuntimeFactory(GatewayConfig config) {
        this.intraOpThreads = config.onnx().intraOpThreads();
        this.cudaDevice = config.onnx().cudaDevice();
        this.provider = resolve(config.onnx().executionProvider());
        LOG.infof("ONNX Runtime %s: execution provider %s (requested %s), %d intra-op thread(s)",
                environment.getVersion(), provider, config.onnx().executionProvider(), intraOpThreads);
    }

    public OrtEnvironment environment() {
        return environment;
    }

    /** CPU or CUDA: never AUTO. */
    public ExecutionProvider provider() {
        return provider;
    }

    public int intraOpThreads() {
        return intraOpThreads;
    }

    public OrtSession open(Path onnxFile) throws OrtException {
        try (OrtSession.SessionOptions options = sessionOptions(provider)) {
            return environment.createSession(onnxFile.toString(), options);
        }
    }

    private OrtSession.SessionOptions sessionOptions(ExecutionProvider executionProvider) throws OrtException {
        OrtSession.SessionOptions options = new OrtSession.SessionOptions();
        options.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
        options.setIntraOpNumThreads(intraOpThreads);
        options.setInterOpNumThreads(1);
        // ONNX Runtime's CPU arena keeps the peak working memory of the largest request a session has run until the
        // session closes: hundreds of MiB for one large batch, outside the cache's weight budget, in every cached
        // tier. Without it that memory is freed after each run, at a cost within a few percent (gateway/README.md); the
        // compressor measures variants with the same setting (its runtime.Sessions).
        options.setCPUArenaAllocator(false);
        if (executionProvider == ExecutionProvider.CUDA) {
            options.addCUDA(cudaDevice);
        }
        return options;
    }

    private ExecutionProvider resolve(ExecutionProvider requested) {
        if (requested == ExecutionProvider.CPU) {
            return ExecutionProvider.CPU;
        }
        try (OrtSession.SessionOptions probe = sessionOptions(ExecutionProvider.CUDA)) {
            return ExecutionProvider.CUDA;
        } catch (OrtException | RuntimeException | UnsatisfiedLinkError e) {
            if (requested == ExecutionProvider.CUDA) {
                throw new IllegalStateException("CUDA execution provider requested but unavailable: " + e.getMessage(), e);
            }
            LOG.infof("CUDA execution provider unavailable (%s); using CPU", e.getMessage());
            return ExecutionProvider.CPU;
        }
    }
}
