package dev.tierserve.gateway.inference;

import ai.onnxruntime.OrtSession.RunOptions;
import dev.tierserve.gateway.repository.ModelEntry;
import dev.tierserve.gateway.tier.TierRoute;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Deadline;

/** Runs one validated request against the session a route names, on an inference worker. */
interface ModelRunner {

    /**
     * @param deadline bounds the wait for the session, if it must load again (null: none)
     * @param phases   where the runner records its input, infer and output times and the batch size
     * @return the response with its outputs; the caller adds names and tier parameters
     */
    ModelInferResponse.Builder infer(ModelEntry model, TierRoute route, ModelInferRequest request,
                                     RunOptions runOptions, Deadline deadline, PhaseClock phases) throws Exception;
}
