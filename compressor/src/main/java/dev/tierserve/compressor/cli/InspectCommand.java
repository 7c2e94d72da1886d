package dev.tierserve.compressor.cli;

import ai.onnx.proto.OnnxMl.ModelProto;
import dev.tierserve.compressor.graph.OnnxModelReader;
import dev.tierserve.compressor.graph.structure.StructureDetector;
import dev.tierserve.compressor.graph.structure.StructureMap;
import dev.tierserve.compressor.graph.structure.StructureReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "inspect", description = "Print the transformer structure map of an ONNX model.",
        footer = {"  java -jar compressor/target/tierserve-compressor.jar inspect \\",
                "      models/bge-small-en-v1.5/model.onnx --seq 256"})
final class InspectCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Parameters(index = "0", description = "the model file (external data is read from beside it)")
    Path model;

    @Option(names = "--seq", defaultValue = "128", description = "sequence length for the attention FLOPs")
    int sequenceLength;

    @Override
    public Integer call() {
        ModelProto proto = OnnxModelReader.read(InputFiles.file(spec, "model", model));
        StructureMap map = StructureDetector.detect(proto);
        System.out.println(model);
        System.out.print(StructureReport.render(map, sequenceLength));
        return 0;
    }
}
