package dev.tierserve.gateway.inference;

import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelInferRequest;
import io.grpc.Context;
import io.grpc.Contexts;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.grpc.Status;
import io.quarkus.grpc.GlobalInterceptor;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * A request's routing key, which keeps it on one side of a canary split: the {@code routing_key} request parameter,
 * else the {@code x-routing-key} metadata (which this interceptor carries into the call's context), else the request
 * id; null when it has none of them.
 */
@GlobalInterceptor
@ApplicationScoped
public class RoutingKeys implements ServerInterceptor {

    static final String PARAMETER = "routing_key";
    static final Metadata.Key<String> HEADER = Metadata.Key.of("x-routing-key", Metadata.ASCII_STRING_MARSHALLER);
    private static final Context.Key<String> FROM_HEADER = Context.key("x-routing-key");

    @Override
    public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
                                                       ServerCallHandler<Q, R> next) {
        String key = headers.get(HEADER);
        if (key == null) {
            return next.startCall(call, headers);
        }
        return Contexts.interceptCall(Context.current().withValue(FROM_HEADER, key), call, headers, next);
    }

    /** The routing key of {@code request}, served in the current call's context. */
    static String of(ModelInferRequest request) {
        InferParameter parameter = request.getParametersMap().get(PARAMETER);
        if (parameter != null) {
            if (parameter.getParameterChoiceCase() != InferParameter.ParameterChoiceCase.STRING_PARAM) {
                throw Status.INVALID_ARGUMENT.withDescription("parameter '" + PARAMETER + "' must be a string")
                        .asRuntimeException();
            }
            return parameter.getStringParam();
        }
        String header = FROM_HEADER.get();
        if (header != null) {
            return header;
        }
        return request.getId().isEmpty() ? null : request.getId();
    }
}
