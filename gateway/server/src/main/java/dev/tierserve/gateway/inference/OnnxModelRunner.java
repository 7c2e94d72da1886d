package dev.tierserve.gateway.inference;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.RunOptions;
import dev.tierserve.gateway.config.GatewayConfig;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.gateway.runtime.SessionLease;
import dev.tierserve.gateway.tensor.OnnxInputs;
import dev.tierserve.gateway.tensor.OutputEncoder;
import dev.tierserve.gateway.tensor.TensorDecoder;
import dev.tierserve.gateway.tier.TierRoute;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Deadline;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;

/** Serves an ONNX model tensor in, tensor out. */
@ApplicationScoped
class OnnxModelRunner implements ModelRunner {

    private final SessionCache sessions;
    private final OnnxRuntimeFactory runtime;
    private final int maxBatchSize;

    OnnxModelRunner(SessionCache sessions, OnnxRuntimeFactory runtime, GatewayConfig config) {
        this.sessions = sessions;
        this.runtime = runtime;
        this.maxBatchSize = config.inference().maxBatchSize();
    }

    @Override
    public ModelInferResponse.Builder infer(ModelEntry model, TierRoute route, ModelInferRequest request,
                                            RunOptions runOptions, Deadline deadline, PhaseClock phases)
            throws Exception {
        try (SessionLease lease = sessions.acquire(route.sessionKey(), deadline)) {
            OrtSession session = lease.loaded().session();
            Set<String> requested = requestedOutputs(request, lease.loaded().outputs().keySet());
            try (OnnxInputs inputs = OnnxInputs.bind(runtime.environment(), TensorDecoder.decode(request),
                    lease.loaded().inputs(), maxBatchSize)) {
                phases.batch(inputs.batchSize());
                phases.inputDone();
                try (OrtSession.Result result = session.run(inputs.tensors(), requested, runOptions)) {
                    phases.inferDone();
                    ModelInferResponse.Builder response = ModelInferResponse.newBuilder();
                    boolean raw = request.getRawInputContentsCount() > 0;
                    for (Map.Entry<String, OnnxValue> output : result) {
                        OutputEncoder.append(response, output.getKey(), (OnnxTensor) output.getValue(), raw);
                    }
                    phases.outputDone();
                    return response;
                }
            } catch (OrtException e) {
                throw OrtErrors.toStatus(e);
            }
        }
    }

    /** The outputs a request asked for, all of them when it named none; INVALID_ARGUMENT for unknown names. */
    private static Set<String> requestedOutputs(ModelInferRequest request, Set<String> available) {
        if (request.getOutputsCount() == 0) {
            return available;
        }
        Set<String> requested = new LinkedHashSet<>();
        for (ModelInferRequest.InferRequestedOutputTensor output : request.getOutputsList()) {
            if (!available.contains(output.getName())) {
                throw Status.INVALID_ARGUMENT.withDescription("model has no output '" + output.getName()
                        + "'; its outputs: " + available).asRuntimeException();
            }
            requested.add(output.getName());
        }
        return requested;
    }
}
