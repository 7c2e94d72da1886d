package dev.tierserve.it;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.ModelInferResponse;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGKILL while requests are in flight (the node died, the OOM killer): every client gets UNAVAILABLE, none hangs or
 * gets a partial answer, and a gateway started again in the same directory serves from the files the first one
 * left, reinstalling nothing.
 */
class GatewayKilledIT {

    private static final int IN_FLIGHT = 3;

    @TempDir
    Path home;

    @Test
    void requestsInFlightAtAKillAreUnavailableAndARestartServesFromTheSameFiles() throws Exception {
        List<ListenableFuture<ModelInferResponse>> accepted = new ArrayList<>();
        try (PackagedGateway gateway = PackagedGateway.start(home, "gateway.inference.workers=1")) {
            GRPCInferenceServiceGrpc.GRPCInferenceServiceFutureStub async =
                    GRPCInferenceServiceGrpc.newFutureStub(gateway.channel()).withDeadlineAfter(10, TimeUnit.MINUTES);
            for (int i = 0; i < IN_FLIGHT; i++) {
                accepted.add(async.modelInfer(GracefulShutdownIT.slowTextRequest(i)));
            }
            GracefulShutdownIT.awaitInFlight(gateway, IN_FLIGHT);
            gateway.process().destroyForcibly();
            assertTrue(gateway.process().waitFor(60, TimeUnit.SECONDS));

            int unavailable = 0;
            for (ListenableFuture<ModelInferResponse> request : accepted) {
                try {
                    request.get(2, TimeUnit.MINUTES);
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof StatusRuntimeException status
                            && status.getStatus().getCode() == Status.Code.UNAVAILABLE) {
                        unavailable++;
                    } else {
                        throw new AssertionError("expected UNAVAILABLE", e);
                    }
                }
            }
            assertEquals(IN_FLIGHT, unavailable, "every request in flight at the kill fails UNAVAILABLE");
        }

        try (PackagedGateway restarted = PackagedGateway.start(home)) {
            ModelInferResponse response = restarted.stub().modelInfer(GracefulShutdownIT.slowTextRequest(0));
            assertEquals(List.of(8L, 384L), response.getOutputs(0).getShapeList());
            assertFalse(restarted.logText().contains("installed embedded default"),
                    "the restart found the repository whole:\n" + restarted.logText());
        }
    }
}
