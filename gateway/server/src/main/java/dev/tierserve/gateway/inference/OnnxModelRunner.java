package dev.tierserve.gateway.inference;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.RunOptions;
import ai.onnxruntime.TensorInfo;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.runtime.LoadedSession;
import dev.tierserve.gateway.runtime.OnnxRuntimeFactory;
import dev.tierserve.gateway.runtime.SessionCache;
import dev.tierserve.gateway.runtime.SessionLease;
import dev.tierserve.gateway.tensor.Datatype;
import dev.tierserve.gateway.tensor.DecodedTensor;
import dev.tierserve.gateway.tensor.OnnxInputs;
import dev.tierserve.gateway.tensor.OutputEncoder;
import dev.tierserve.gateway.tensor.TensorBatch;
import dev.tierserve.gateway.tensor.TensorDecoder;
import dev.tierserve.gateway.tier.TierRoute;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Deadline;
import io.grpc.Status;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Serves an ONNX model tensor in, tensor out. Requests batch when the model's inputs and outputs all have a free
 * first dimension and the requests agree on everything else: input names, datatypes and the dimensions after the
 * first, and the outputs they ask for.
 */
@ApplicationScoped
class OnnxModelRunner implements ModelRunner {

    /** A request's inputs, sorted by name so that requests line up when concatenated. */
    private record TensorRequest(String sessionKey, List<DecodedTensor> inputs, Set<String> outputs, boolean raw,
                                 int rows, Object batchKey) implements Prepared {
    }

    /** What requests must share to be concatenated: their session, input layout and requested outputs. */
    private record TensorBatchKey(String sessionKey, List<String> layout, Set<String> outputs) {
    }

    private final SessionCache sessions;
    private final OnnxRuntimeFactory runtime;

    OnnxModelRunner(SessionCache sessions, OnnxRuntimeFactory runtime) {
        this.sessions = sessions;
        this.runtime = runtime;
    }

    @Override
    public Prepared prepare(ModelEntry model, TierRoute route, ModelInferRequest request, LoadedSession session,
                            BatchPolicy policy) {
        Set<String> outputs = requestedOutputs(request, session.outputs().keySet());
        List<DecodedTensor> inputs = new ArrayList<>(TensorDecoder.decode(request));
        int rows = OnnxInputs.check(inputs, session.inputs(), policy.maxRows());
        inputs.sort(Comparator.comparing(DecodedTensor::name));
        Object key = policy.enabled() && batchable(session, inputs) ? new TensorBatchKey(route.sessionKey(),
                inputs.stream().map(OnnxModelRunner::layout).toList(), outputs) : null;
        return new TensorRequest(route.sessionKey(), inputs, outputs, request.getRawInputContentsCount() > 0, rows,
                key);
    }

    @Override
    public List<ModelInferResponse.Builder> run(List<Prepared> requests, RunOptions runOptions, Deadline deadline,
                                                ExecutionClock clock) throws Exception {
        List<TensorRequest> members = requests.stream().map(TensorRequest.class::cast).toList();
        TensorRequest first = members.get(0);
        List<DecodedTensor> inputs = members.size() == 1 ? first.inputs()
                : TensorBatch.concatenate(members.stream().map(TensorRequest::inputs).toList());
        List<ModelInferResponse.Builder> responses = new ArrayList<>();
        members.forEach(member -> responses.add(ModelInferResponse.newBuilder()));
        try (SessionLease lease = sessions.acquire(first.sessionKey(), deadline);
             OnnxInputs bound = OnnxInputs.create(runtime.environment(), inputs)) {
            clock.inputDone();
            try (OrtSession.Result result = lease.loaded().session().run(bound.tensors(), first.outputs(),
                    runOptions)) {
                clock.inferDone();
                int[] rows = members.stream().mapToInt(TensorRequest::rows).toArray();
                boolean[] raw = new boolean[members.size()];
                for (int i = 0; i < raw.length; i++) {
                    raw[i] = members.get(i).raw();
                }
                for (Map.Entry<String, OnnxValue> output : result) {
                    if (members.size() == 1) {
                        OutputEncoder.append(responses.get(0), output.getKey(), (OnnxTensor) output.getValue(),
                                first.raw());
                    } else {
                        OutputEncoder.appendRows(responses, rows, output.getKey(), (OnnxTensor) output.getValue(),
                                raw);
                    }
                }
                clock.outputDone();
                return responses;
            }
        } catch (OrtException e) {
            throw OrtErrors.toStatus(e);
        }
    }

    /** Every declared input and output has a free first dimension, and no input is BYTES or a scalar. */
    private static boolean batchable(LoadedSession session, List<DecodedTensor> inputs) {
        for (DecodedTensor input : inputs) {
            if (input.datatype() == Datatype.BYTES || input.shape().length == 0) {
                return false;
            }
        }
        for (Map<String, NodeInfo> declared : List.of(session.inputs(), session.outputs())) {
            for (NodeInfo node : declared.values()) {
                if (!(node.getInfo() instanceof TensorInfo tensor) || tensor.getShape().length == 0
                        || tensor.getShape()[0] != -1) {
                    return false;
                }
            }
        }
        return true;
    }

    private static String layout(DecodedTensor input) {
        return input.name() + ":" + input.datatype() + Arrays.toString(
                Arrays.copyOfRange(input.shape(), 1, input.shape().length));
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
