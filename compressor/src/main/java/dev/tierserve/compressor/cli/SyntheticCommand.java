package dev.tierserve.compressor.cli;

import dev.tierserve.compressor.graph.OnnxModelWriter;
import dev.tierserve.compressor.synthetic.DecoderBuilder;
import dev.tierserve.compressor.synthetic.DecoderConfig;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

@Command(name = "synthetic", description = "Write a synthetic (random-weight) GPT-2- or Llama-style decoder.",
        footer = {"  java -jar compressor/target/tierserve-compressor.jar synthetic \\",
                "      --family llama --layers 4 --hidden 128 --heads 8 --kv-heads 2 --ffn 344 \\",
                "      --out llama.onnx"})
final class SyntheticCommand implements Callable<Integer> {

    @Option(names = "--family", defaultValue = "llama", description = "gpt2 or llama")
    String family;

    @Option(names = "--layers", defaultValue = "4")
    int layers;

    @Option(names = "--hidden", defaultValue = "128")
    int hidden;

    @Option(names = "--heads", defaultValue = "8")
    int heads;

    @Option(names = "--kv-heads", description = "default: heads (GPT-2), heads/2 (Llama)")
    Integer kvHeads;

    @Option(names = "--ffn", defaultValue = "344")
    int ffn;

    @Option(names = "--no-cache", description = "no past/present key-value inputs and outputs")
    boolean noCache;

    @Option(names = "--seed", defaultValue = "7")
    long seed;

    @Option(names = "--out", required = true)
    Path out;

    @Override
    public Integer call() {
        DecoderConfig base = family.equalsIgnoreCase("gpt2") ? DecoderConfig.gpt2() : DecoderConfig.llama();
        int kv = kvHeads != null ? kvHeads : base.family() == DecoderConfig.Family.GPT2 ? heads : Math.max(1, heads / 2);
        DecoderConfig config = base.withLayers(layers).withWidth(hidden, heads, kv, ffn).withCache(!noCache).withSeed(seed);
        OnnxModelWriter.write(DecoderBuilder.build(config), out);
        System.out.println("wrote " + out + ": " + config.describe() + " [SYNTHETIC]");
        return 0;
    }
}
