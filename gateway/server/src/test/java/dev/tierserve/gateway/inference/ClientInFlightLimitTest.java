package dev.tierserve.gateway.inference;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.Status;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ClientInFlightLimitTest {

    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final ClientInFlightLimit limit = new ClientInFlightLimit(2, meters);
    /** The calls as the service sees them: closing one of these is how a call ends. */
    private final Map<FakeCall, ServerCall<String, String>> started = new HashMap<>();
    private FakeCall starting;
    private final ServerCallHandler<String, String> handler = (call, headers) -> {
        started.put(starting, call);
        return new ServerCall.Listener<>() {
        };
    };

    @Test
    void aClientPastItsLimitIsRefusedWhileOthersAreNotAndAnEndedCallFreesItsPlace() {
        FakeCall first = call("10.0.0.1", 40001);
        FakeCall second = call("10.0.0.1", 40002); // another connection, the same client
        FakeCall third = call("10.0.0.1", 40003);
        FakeCall stranger = call("10.0.0.2", 40001);
        start(first);
        start(second);
        start(third);
        start(stranger);

        assertNull(first.closed);
        assertNull(second.closed);
        assertEquals(Status.Code.RESOURCE_EXHAUSTED, third.closed.getCode());
        assertNull(stranger.closed, "another client has its own places");
        assertEquals(2, limit.inFlight("10.0.0.1"));
        assertEquals(1.0, meters.counter("gateway.inference.refused", "reason", "client_limit").count());

        started.get(first).close(Status.OK, new Metadata());
        assertEquals(1, limit.inFlight("10.0.0.1"));
        FakeCall fourth = call("10.0.0.1", 40004);
        ServerCall.Listener<String> listener = start(fourth);
        assertNull(fourth.closed, "the ended call's place is free again");
        listener.onCancel(); // a cancelled call frees its place too, once
        started.get(fourth).close(Status.CANCELLED, new Metadata());
        assertEquals(1, limit.inFlight("10.0.0.1"));
        started.get(second).close(Status.OK, new Metadata());
        assertEquals(0, limit.inFlight("10.0.0.1"));
    }

    @Test
    void aLimitBelowOneIsRefusedAtStart() {
        assertThrows(IllegalArgumentException.class, () -> new ClientInFlightLimit(0, meters));
    }

    private ServerCall.Listener<String> start(FakeCall call) {
        starting = call;
        return limit.interceptCall(call, new Metadata(), handler);
    }

    private static FakeCall call(String address, int port) {
        return new FakeCall(new InetSocketAddress(address, port));
    }

    /** A server call that records how it was closed. */
    private static final class FakeCall extends ServerCall<String, String> {
        private static final MethodDescriptor.Marshaller<String> NONE = new MethodDescriptor.Marshaller<>() {
            @Override
            public InputStream stream(String value) {
                throw new UnsupportedOperationException();
            }

            @Override
            public String parse(InputStream stream) {
                throw new UnsupportedOperationException();
            }
        };
        private final Attributes attributes;
        Status closed;

        FakeCall(InetSocketAddress peer) {
            this.attributes = Attributes.newBuilder().set(Grpc.TRANSPORT_ATTR_REMOTE_ADDR, peer).build();
        }

        @Override
        public void request(int numMessages) {
        }

        @Override
        public void sendHeaders(Metadata headers) {
        }

        @Override
        public void sendMessage(String message) {
        }

        @Override
        public void close(Status status, Metadata trailers) {
            closed = status;
        }

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public Attributes getAttributes() {
            return attributes;
        }

        @Override
        public MethodDescriptor<String, String> getMethodDescriptor() {
            return MethodDescriptor.<String, String>newBuilder().setType(MethodDescriptor.MethodType.UNARY)
                    .setFullMethodName("inference.GRPCInferenceService/ModelInfer")
                    .setRequestMarshaller(NONE).setResponseMarshaller(NONE).build();
        }
    }
}
