package dev.tierserve.gateway.inference;

import ai.onnxruntime.OrtException;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;

/** Maps ONNX Runtime failures to gRPC statuses: input problems the runtime found are the client's, the rest ours. */
final class OrtErrors {

    private OrtErrors() {
    }

    static StatusRuntimeException toStatus(OrtException e) {
        Status status = switch (e.getCode()) {
            case ORT_INVALID_ARGUMENT, ORT_INVALID_GRAPH -> Status.INVALID_ARGUMENT;
            case ORT_NOT_IMPLEMENTED -> Status.UNIMPLEMENTED;
            default -> Status.INTERNAL;
        };
        return status.withDescription("ONNX Runtime: " + e.getMessage()).withCause(e).asRuntimeException();
    }
}
