package dev.tierserve.compressor.cli;

import dev.tierserve.compressor.worker.CompressionWorker;
import dev.tierserve.compressor.worker.CompressorGrpcService;
import dev.tierserve.compressor.worker.TokenCheck;
import dev.tierserve.compressor.worker.WorkerDefaults;
import dev.tierserve.jobs.BearerToken;
import dev.tierserve.jobs.ModelLocator;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import io.grpc.ServerBuilder;
import io.grpc.ServerCredentials;
import io.grpc.ServerInterceptors;
import io.grpc.ServerServiceDefinition;
import io.grpc.TlsServerCredentials;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;

@Command(name = "serve", description = "Run the compressor worker as its own gRPC service (tierserve.compressor.v1."
        + "CompressorService), taking over unfinished jobs in the store.",
        footer = {"  java -jar compressor/target/tierserve-compressor.jar serve \\",
                "      --models models --store variants --port 8091"})
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "8091", description = "0: any free port (the line that says the worker "
            + "is listening names it)")
    int port;

    @Option(names = "--host", defaultValue = "0.0.0.0", description = "the address to listen on, e.g. 127.0.0.1 for "
            + "callers on this machine only")
    String host;

    @Option(names = "--models", description = "model repository: <dir>/<model>/model.onnx + tokenizer.json")
    Path models;

    @Option(names = "--model", paramLabel = "NAME=FILE", description = "a model outside --models: its name and its "
            + "model.onnx (tokenizer.json beside it); repeatable")
    Map<String, Path> modelFiles = new LinkedHashMap<>();

    @Option(names = "--exit-with-parent", description = "exit when standard input closes: for a worker that a gateway "
            + "starts as its child, so that it ends with the gateway")
    boolean exitWithParent;

    @Mixin
    StoreOptions store;

    @Mixin
    RuntimeOptions runtime;

    @Option(names = "--tls-cert", description = "PEM certificate chain: serve over TLS (with --tls-key)")
    Path tlsCert;

    @Option(names = "--tls-key", description = "PEM PKCS#8 private key of --tls-cert")
    Path tlsKey;

    @Option(names = "--tls-ca", description = "PEM CA certificates: accept only callers with a certificate they "
            + "signed (mutual TLS; needs --tls-cert)")
    Path tlsCa;

    @Option(names = "--token-file", description = "a file holding the bearer token every caller must present "
            + "(authorization: Bearer <token>)")
    Path tokenFile;

    @Override
    public Integer call() throws Exception {
        if (models == null && modelFiles.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "give a model repository (--models) or models (--model)");
        }
        if (models != null) {
            InputFiles.directory(spec, "--models", models);
        }
        for (Map.Entry<String, Path> model : modelFiles.entrySet()) {
            InputFiles.file(spec, "--model " + model.getKey(), model.getValue());
        }
        ServerBuilder<?> builder = serverBuilder();
        BearerToken token = null;
        if (tokenFile != null) {
            try {
                token = BearerToken.read(InputFiles.file(spec, "--token-file", tokenFile));
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--token-file: " + e.getMessage());
            }
        }
        ModelLocator repository = models == null ? name -> Optional.empty() : ModelLocator.directory(models);
        ModelLocator locator = name -> modelFiles.containsKey(name) ? Optional.of(modelFiles.get(name))
                : repository.parentFile(name);
        CompressionWorker worker = new CompressionWorker(store.open(), locator,
                WorkerDefaults.of(runtime.settings()), System.out::println);
        ServerServiceDefinition service = new CompressorGrpcService(worker).bindService();
        Server server = builder
                .addService(token == null ? service : ServerInterceptors.intercept(service, new TokenCheck(token)))
                .build().start();
        System.out.println("compressor worker listening on port " + server.getPort() + " ("
                + (tlsCert == null ? "plain text" : tlsCa == null ? "TLS" : "mutual TLS")
                + (token == null ? "" : ", bearer token required") + "), store " + worker.store().describe()
                + ", runtime " + runtime.settings().key());
        int resumed = worker.resumeUnfinished();
        if (resumed > 0) {
            System.out.println("resumed " + resumed + " unfinished job(s)");
        }
        // Other workers share the store: a job whose worker died is taken over once its lease lapses.
        worker.takeOverEvery(java.time.Duration.ofSeconds(5));
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdown();
            worker.close();
        }));
        if (exitWithParent) {
            Thread watch = new Thread(() -> {
                try {
                    while (System.in.read() != -1) {
                        // nothing is sent: the stream only closes when the parent ends
                    }
                } catch (IOException e) {
                    // closed all the same
                }
                System.exit(0); // the shutdown hook stops the server and the worker
            }, "parent-watch");
            watch.setDaemon(true);
            watch.start();
        }
        server.awaitTermination();
        return 0;
    }

    /** The port with its credentials, the TLS files read and parsed now: a bad file is the user's mistake. */
    private ServerBuilder<?> serverBuilder() throws IOException {
        ServerCredentials credentials = credentials();
        try {
            return NettyServerBuilder.forAddress(new InetSocketAddress(host, port), credentials);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "cannot use the TLS files (--tls-cert, --tls-key, "
                    + "--tls-ca): " + e.getMessage());
        }
    }

    /** Plain text, TLS, or mutual TLS that trusts only the CA given (never the system's roots). */
    private ServerCredentials credentials() throws IOException {
        if (tlsCert == null && tlsKey == null) {
            if (tlsCa != null) {
                throw new ParameterException(spec.commandLine(), "--tls-ca needs --tls-cert and --tls-key");
            }
            return InsecureServerCredentials.create();
        }
        if (tlsCert == null || tlsKey == null) {
            throw new ParameterException(spec.commandLine(), "--tls-cert and --tls-key go together");
        }
        TlsServerCredentials.Builder tls = TlsServerCredentials.newBuilder();
        try {
            tls.keyManager(InputFiles.file(spec, "--tls-cert", tlsCert).toFile(),
                    InputFiles.file(spec, "--tls-key", tlsKey).toFile());
            if (tlsCa != null) {
                tls.trustManager(InputFiles.file(spec, "--tls-ca", tlsCa).toFile())
                        .clientAuth(TlsServerCredentials.ClientAuth.REQUIRE);
            }
        } catch (IOException | IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "cannot use the TLS files: " + e.getMessage());
        }
        return tls.build();
    }
}
