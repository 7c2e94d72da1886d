package dev.tierserve.client;

import com.google.protobuf.util.JsonFormat;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc;
import dev.tierserve.proto.inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import dev.tierserve.proto.inference.InferParameter;
import dev.tierserve.proto.inference.ModelInferRequest;
import dev.tierserve.proto.inference.ModelInferResponse;
import dev.tierserve.proto.inference.ModelMetadataRequest;
import dev.tierserve.proto.inference.ModelStatisticsRequest;
import dev.tierserve.proto.inference.RepositoryIndexRequest;
import dev.tierserve.proto.inference.ServerReadyRequest;
import io.grpc.Grpc;
import io.grpc.InsecureChannelCredentials;
import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.StatusRuntimeException;
import io.grpc.TlsChannelCredentials;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Visibility;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/**
 * A command-line client for the gateway's Open Inference Protocol endpoint. Every subcommand inherits the help
 * attributes ({@code scope = INHERIT}): {@code -h}/{@code --help} and {@code -V}/{@code --version}, the options'
 * default values and the heading of the example each one shows in its footer; {@code help <command> [<subcommand>]}
 * prints the same usage. A user's mistake is one line on stderr, {@code error: <what is wrong>}, and exit code 2.
 */
@Command(name = "tierserve-client", scope = ScopeType.INHERIT, mixinStandardHelpOptions = true,
        versionProvider = InferenceClient.Version.class, showDefaultValues = true,
        subcommands = {HelpCommand.class, InferenceClient.Infer.class, InferenceClient.Metadata.class,
                InferenceClient.Index.class, InferenceClient.Stats.class, InferenceClient.Ready.class,
                LoadCommand.class, RolloutCommand.class},
        description = "Talks to a tierserve gateway (or any KServe v2 gRPC server).",
        footerHeading = "%nExample:%n",
        footer = {"  java -jar gateway/client/target/tierserve-client.jar --target localhost:8001 \\",
                "      infer --model bge-small-en-v1.5-text --text \"The quick brown fox\""})
public final class InferenceClient {

    @Option(names = "--target", defaultValue = "${env:TIERSERVE_TARGET:-localhost:8001}",
            description = "host:port: $TIERSERVE_TARGET, else localhost:8001")
    String target;

    @Option(names = "--tls", description = "TLS to the gateway, trusting the system's roots unless --ca is given")
    boolean tls;

    @Option(names = "--ca", description = "PEM CA certificates to trust instead of the system's roots (implies --tls)")
    Path ca;

    @Option(names = "--cert", description = "PEM client certificate chain, for a gateway that requires one (with "
            + "--key; implies --tls)")
    Path cert;

    @Option(names = "--key", description = "PEM PKCS#8 private key of --cert")
    Path key;

    @Option(names = "--inference-token-file", defaultValue = "${env:TIERSERVE_INFERENCE_TOKEN_FILE}",
            description = "file holding the inference token, for a gateway that requires one (default: "
                    + "$TIERSERVE_INFERENCE_TOKEN_FILE)")
    Path inferenceTokenFile;

    public static void main(String[] args) {
        System.exit(new CommandLine(new InferenceClient()).setParameterExceptionHandler((mistake, words) -> {
            // A mistake on the command line: one line, and the commands to choose from when none was chosen.
            CommandLine line = mistake.getCommandLine();
            line.getErr().println("error: " + mistake.getMessage());
            if (line.getParent() == null) {
                line.usage(line.getErr());
            }
            return 2;
        }).setExecutionExceptionHandler((error, line, parsed) -> {
            // The server's answer or the user's mistake: one line, no stack trace.
            if (error instanceof StatusRuntimeException status) {
                System.err.println("error: " + status.getStatus().getCode() + ": " + status.getStatus().getDescription());
                return 2;
            }
            if (error instanceof IllegalArgumentException mistake) {
                System.err.println("error: " + mistake.getMessage());
                return 2;
            }
            throw error;
        }).execute(args));
    }

    /** {@code --version}: the version the jar's manifest records ({@code Implementation-Version}). */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String version = InferenceClient.class.getPackage().getImplementationVersion();
            return new String[] {"tierserve-client " + (version != null ? version : "(not packaged)")};
        }
    }

    /**
     * A channel to {@code --target}: plain text, or TLS with the trust and the certificate given; inference calls
     * carry the inference token when one is given.
     */
    ManagedChannelBuilder<?> channel() {
        ManagedChannelBuilder<?> builder = transport();
        if (inferenceTokenFile != null) {
            builder.intercept(new InferenceToken(inferenceTokenFile));
        }
        return builder;
    }

    private ManagedChannelBuilder<?> transport() {
        if (!tls && ca == null && cert == null && key == null) {
            return Grpc.newChannelBuilder(target, InsecureChannelCredentials.create());
        }
        if ((cert == null) != (key == null)) {
            throw new IllegalArgumentException("--cert and --key go together");
        }
        TlsChannelCredentials.Builder credentials = TlsChannelCredentials.newBuilder();
        try {
            if (ca != null) {
                credentials.trustManager(ca.toFile());
            }
            if (cert != null) {
                credentials.keyManager(cert.toFile(), key.toFile());
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read a TLS file: " + e.getMessage());
        }
        return Grpc.newChannelBuilder(target, credentials.build());
    }

    <T> T call(java.util.function.Function<GRPCInferenceServiceBlockingStub, T> rpc, long timeoutMillis) {
        ManagedChannel channel = channel().maxInboundMessageSize(256 << 20).build();
        try {
            return rpc.apply(GRPCInferenceServiceGrpc.newBlockingStub(channel)
                    .withDeadlineAfter(timeoutMillis, TimeUnit.MILLISECONDS));
        } finally {
            channel.shutdownNow();
        }
    }

    static String json(com.google.protobuf.MessageOrBuilder message) {
        try {
            return JsonFormat.printer().print(message);
        } catch (com.google.protobuf.InvalidProtocolBufferException e) {
            throw new IllegalStateException(e);
        }
    }

    @Command(name = "infer", description = "Sends text (--text) or tensors (--input) and prints the outputs and the served tier.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar infer \\",
                    "      --model bge-small-en-v1.5-text --text \"The quick brown fox\" --tier exact"})
    static final class Infer implements Callable<Integer> {
        @CommandLine.ParentCommand InferenceClient parent;

        @Option(names = "--model", required = true) String model;
        @Option(names = "--tier", description = "exact, auto or a speedup such as 2x") String tier;
        @Option(names = "--strict-tier", description = "fail instead of serving a slower tier") boolean strictTier;
        @Option(names = "--routing-key", description = "keeps requests with the same key on one side of a canary")
        String routingKey;
        @Option(names = "--text", description = "a sentence for a text model (repeatable)",
                showDefaultValue = Visibility.NEVER) List<String> texts = new ArrayList<>();
        @Option(names = "--input", description = "NAME:DATATYPE:DIMS:VALUES, e.g. input_ids:INT64:1x4:101,7592,2088,102 (repeatable)",
                showDefaultValue = Visibility.NEVER) List<String> inputs = new ArrayList<>();
        @Option(names = "--raw", description = "send raw_input_contents (and receive raw outputs)") boolean raw;
        @Option(names = "--timeout-ms", defaultValue = "30000") long timeoutMillis;
        @Option(names = "--show", defaultValue = "8", description = "values to print per output") int show;

        @Override
        public Integer call() {
            ModelInferRequest.Builder request = ModelInferRequest.newBuilder().setModelName(model);
            if (tier != null) {
                request.putParameters("tier", InferParameter.newBuilder().setStringParam(tier).build());
            }
            if (routingKey != null) {
                request.putParameters("routing_key", InferParameter.newBuilder().setStringParam(routingKey).build());
            }
            if (strictTier) {
                request.putParameters("strict_tier", InferParameter.newBuilder().setBoolParam(true).build());
            }
            if (!texts.isEmpty()) {
                TensorArguments.addText(request, texts, raw);
            }
            for (String input : inputs) {
                TensorArguments.addTensor(request, input, raw);
            }
            long started = System.nanoTime();
            ModelInferResponse response = parent.call(stub -> stub.modelInfer(request.build()), timeoutMillis);
            long micros = (System.nanoTime() - started) / 1000;
            System.out.printf("model %s, served tier %s, variant %s, canary %s (%.2f ms)%n", response.getModelName(),
                    stringParameter(response, "tier"), stringParameter(response, "variant"),
                    response.getParametersOrDefault("canary", InferParameter.getDefaultInstance()).getBoolParam(),
                    micros / 1000.0);
            if (response.containsParameters("degraded_from")) {
                System.out.println("degraded from tier " + stringParameter(response, "degraded_from"));
            }
            for (int i = 0; i < response.getOutputsCount(); i++) {
                ModelInferResponse.InferOutputTensor output = response.getOutputs(i);
                float[] values = response.getRawOutputContentsCount() > 0
                        ? TensorArguments.floats(response.getRawOutputContents(i)) : TensorArguments.floats(output.getContents());
                System.out.printf("%s %s %s: %s%n", output.getName(), output.getDatatype(), output.getShapeList(),
                        TensorArguments.head(values, show));
            }
            return 0;
        }

        private static String stringParameter(ModelInferResponse response, String name) {
            return response.getParametersOrDefault(name, InferParameter.getDefaultInstance()).getStringParam();
        }
    }

    @Command(name = "metadata", description = "Prints a model's metadata.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar metadata \\",
                    "      --model bge-small-en-v1.5"})
    static final class Metadata implements Callable<Integer> {
        @CommandLine.ParentCommand InferenceClient parent;
        @Option(names = "--model", required = true) String model;

        @Override
        public Integer call() {
            System.out.println(json(parent.call(stub -> stub.modelMetadata(
                    ModelMetadataRequest.newBuilder().setName(model).build()), 60_000)));
            return 0;
        }
    }

    @Command(name = "index", description = "Lists the repository's models.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar index"})
    static final class Index implements Callable<Integer> {
        @CommandLine.ParentCommand InferenceClient parent;

        @Override
        public Integer call() {
            System.out.println(json(parent.call(stub -> stub.repositoryIndex(RepositoryIndexRequest.getDefaultInstance()), 10_000)));
            return 0;
        }
    }

    @Command(name = "stats", description = "Prints model statistics.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar stats \\",
                    "      --model bge-small-en-v1.5"})
    static final class Stats implements Callable<Integer> {
        @CommandLine.ParentCommand InferenceClient parent;
        @Option(names = "--model", defaultValue = "", showDefaultValue = Visibility.NEVER,
                description = "one model (default: every model)") String model;

        @Override
        public Integer call() {
            System.out.println(json(parent.call(stub -> stub.modelStatistics(
                    ModelStatisticsRequest.newBuilder().setName(model).build()), 10_000)));
            return 0;
        }
    }

    @Command(name = "ready", description = "Exits 0 when the server is ready.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar ready"})
    static final class Ready implements Callable<Integer> {
        @CommandLine.ParentCommand InferenceClient parent;

        @Override
        public Integer call() {
            boolean ready = parent.call(stub -> stub.serverReady(ServerReadyRequest.getDefaultInstance()), 10_000).getReady();
            System.out.println(ready ? "ready" : "not ready");
            return ready ? 0 : 1;
        }
    }
}
