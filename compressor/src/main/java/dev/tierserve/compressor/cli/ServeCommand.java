package dev.tierserve.compressor.cli;

import dev.tierserve.compressor.worker.CompressionWorker;
import dev.tierserve.compressor.worker.CompressorGrpcService;
import dev.tierserve.compressor.worker.WorkerDefaults;
import dev.tierserve.jobs.ModelLocator;
import io.grpc.Grpc;
import io.grpc.InsecureServerCredentials;
import io.grpc.Server;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "serve", mixinStandardHelpOptions = true, description = "Run the compressor worker as its own gRPC service (tierserve.compressor.v1."
        + "CompressorService), taking over unfinished jobs in the store.")
final class ServeCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "8091")
    int port;

    @Option(names = "--models", required = true, description = "model repository: <dir>/<model>/model.onnx + tokenizer.json")
    Path models;

    @Mixin
    StoreOptions store;

    @Mixin
    RuntimeOptions runtime;

    @Override
    public Integer call() throws Exception {
        InputFiles.directory(spec, "--models", models);
        CompressionWorker worker = new CompressionWorker(store.open(), ModelLocator.directory(models),
                WorkerDefaults.of(runtime.settings()), System.out::println);
        Server server = Grpc.newServerBuilderForPort(port, InsecureServerCredentials.create())
                .addService(new CompressorGrpcService(worker)).build().start();
        System.out.println("compressor worker listening on port " + server.getPort() + ", store " + worker.store().describe()
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
        server.awaitTermination();
        return 0;
    }
}
