package dev.tierserve.gateway.inference;

import dev.tierserve.gateway.config.GatewayConfig;
import io.quarkus.grpc.api.ServerBuilderCustomizer;
import io.quarkus.grpc.runtime.config.GrpcServerConfiguration;
import io.vertx.grpc.VertxServerBuilder;
import jakarta.enterprise.context.ApplicationScoped;

/**
 * What Quarkus' gRPC settings do not reach on the gRPC server (Vert.x over grpc-java's Netty server): the HTTP/2
 * streams one connection may open at once. Keep-alive and message-size limits are Quarkus' own settings
 * (application.properties).
 */
@ApplicationScoped
public class TransportLimits implements ServerBuilderCustomizer<VertxServerBuilder> {

    private final int maxConcurrentCallsPerConnection;

    TransportLimits(GatewayConfig config) {
        this.maxConcurrentCallsPerConnection = config.inference().maxConcurrentCallsPerConnection();
    }

    @Override
    public void customize(GrpcServerConfiguration config, VertxServerBuilder builder) {
        builder.nettyBuilder().maxConcurrentCallsPerConnection(maxConcurrentCallsPerConnection);
    }
}
