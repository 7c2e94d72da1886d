package dev.tierserve.gateway.inference;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelRepository;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.gateway.runtime.SessionLease;
import dev.tierserve.gateway.tensor.Datatype;
import grpc.health.v1.HealthOuterClass.HealthCheckResponse.ServingStatus;
import io.quarkus.grpc.runtime.health.GrpcHealthStorage;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.jboss.logging.Logger;

/**
 * Server readiness: false, and the gRPC health service NOT_SERVING, until every preloaded model has loaded and run
 * one warm-up inference. Warm-up runs in the background so that liveness answers during it.
 */
@ApplicationScoped
public class Readiness {

    private static final Logger LOG = Logger.getLogger(Readiness.class);
    static final String SERVICE = "inference.GRPCInferenceService";

    private final ModelRepository repository;
    private final SessionCache sessions;
    private final OnnxRuntimeFactory runtime;
    private final GrpcHealthStorage health;
    private final GatewayConfig config;
    private volatile boolean ready;

    Readiness(ModelRepository repository, SessionCache sessions, OnnxRuntimeFactory runtime,
              GrpcHealthStorage health, GatewayConfig config) {
        this.repository = repository;
        this.sessions = sessions;
        this.runtime = runtime;
        this.health = health;
        this.config = config;
    }

    public boolean isReady() {
        return ready;
    }

    /** Not ready from now on (the gateway is stopping). */
    void stopServing() {
        ready = false;
        setHealth(ServingStatus.NOT_SERVING);
    }

    void onStart(@Observes StartupEvent event) {
        setHealth(ServingStatus.NOT_SERVING);
        Thread warmup = new Thread(this::warmUp, "warm-up");
        warmup.setDaemon(true);
        warmup.start();
    }

    private void warmUp() {
        try {
            for (String name : config.preload()) {
                long started = System.nanoTime();
                String key = repository.require(name).sessionKey();
                try (SessionLease lease = sessions.acquire(key, null)) {
                    runOnce(lease.loaded().session());
                }
                LOG.infof("warmed up %s in %d ms", name, (System.nanoTime() - started) / 1_000_000);
            }
            ready = true;
            setHealth(ServingStatus.SERVING);
            LOG.info("gateway ready");
        } catch (Exception e) {
            LOG.errorf(e, "warm-up failed; the gateway stays not ready");
        }
    }

    /** One inference on zero-filled inputs: batch 1, 16 for every other variable dimension. */
    private void runOnce(OrtSession session) throws Exception {
        Map<String, OnnxTensor> inputs = new HashMap<>();
        try {
            for (NodeInfo node : session.getInputInfo().values()) {
                TensorInfo info = (TensorInfo) node.getInfo();
                long[] shape = info.getShape().clone();
                for (int i = 0; i < shape.length; i++) {
                    shape[i] = shape[i] >= 0 ? shape[i] : (i == 0 ? 1 : 16);
                }
                Datatype datatype = Datatype.of(info.onnxType);
                int count = (int) Arrays.stream(shape).reduce(1, Math::multiplyExact);
                OnnxTensor tensor = datatype == Datatype.BYTES
                        ? OnnxTensor.createTensor(runtime.environment(), filledStrings(count), shape)
                        : OnnxTensor.createTensor(runtime.environment(),
                                ByteBuffer.allocateDirect(count * datatype.elementBytes()).order(ByteOrder.nativeOrder()),
                                shape, datatype.onnxJavaType());
                inputs.put(node.getName(), tensor);
            }
            session.run(inputs).close();
        } finally {
            inputs.values().forEach(OnnxTensor::close);
        }
    }

    private static String[] filledStrings(int count) {
        String[] strings = new String[count];
        Arrays.fill(strings, "");
        return strings;
    }

    private void setHealth(ServingStatus status) {
        health.setStatus(GrpcHealthStorage.DEFAULT_SERVICE_NAME, status);
        health.setStatus(SERVICE, status);
    }
}
