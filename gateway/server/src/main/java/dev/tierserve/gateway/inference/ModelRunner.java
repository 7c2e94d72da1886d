package dev.tierserve.gateway.inference;

import ai.onnxruntime.OrtSession.RunOptions;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.runtime.LoadedSession;
import dev.tierserve.gateway.tier.TierRoute;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Deadline;
import java.util.List;

/** Serves one kind of model: prepares each request before it queues, and runs prepared requests together. */
interface ModelRunner {

    /**
     * Validates and prepares a request for the session its route names (loaded: {@code session}), on a preparing
     * thread; INVALID_ARGUMENT for bad input. Its batch key is null unless {@code policy} batches.
     */
    Prepared prepare(ModelEntry model, TierRoute route, ModelInferRequest request, LoadedSession session,
                     BatchPolicy policy);

    /**
     * Runs requests this runner prepared, all of one batch key (or one request), in one ONNX Runtime call on a
     * worker: one response per request, in order, with its outputs; the caller adds names and tier parameters.
     *
     * @param deadline bounds the wait for the session, if it must load again (null: none)
     */
    List<ModelInferResponse.Builder> run(List<Prepared> requests, RunOptions runOptions, Deadline deadline,
                                         ExecutionClock clock) throws Exception;
}
