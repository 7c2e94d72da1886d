package dev.tierserve.compressor.plan;

import java.util.Arrays;
import java.util.List;

/** The structured compression methods the planner runs, in the order it runs them by default. */
public enum Method {
    /** ZipLM: structured OBS pruning of heads and MLP channels to a measured latency budget (Kurtic et al., 2023). */
    ZIPLM("ziplm"),
    /** TrimLLM: progressive removal of whole sub-blocks by calibration loss, with affine recovery (Hu et al., 2024). */
    TRIMLLM("trimllm"),
    /** ZipLM width pruning on top of TrimLLM's depth result; runs after {@link #TRIMLLM}, whose trajectory it reuses. */
    TRIMLLM_ZIPLM("trimllm+ziplm"),
    /** Bonsai: forward-only structured pruning from sparse regression over sampled sub-models (Dery et al., 2024). */
    BONSAI("bonsai"),
    /** Layer parallelism: pairs of adjacent layers run side by side (rarely pays on CPU). */
    PARALLEL("parallel");

    private final String label;

    Method(String label) {
        this.label = label;
    }

    /** The name used on the command line, in job requests and in manifests. */
    public String label() {
        return label;
    }

    /** The word that stands for every method, on the command line and in job requests. */
    public static final String ALL = "all";

    public static List<Method> all() {
        return List.of(values());
    }

    /**
     * What runs when no method is named: ZipLM, the only method that has won a tier on the encoders measured (with
     * int8 stacked on it, or alone); TrimLLM, Bonsai and layer parallelism measured below it at every tier.
     */
    public static List<Method> defaults() {
        return List.of(ZIPLM);
    }

    /** Methods by label, {@value #ALL} for every method. */
    public static List<Method> parseAll(List<String> labels) {
        List<Method> methods = new java.util.ArrayList<>();
        for (String label : labels) {
            if (label.equals(ALL)) {
                methods.addAll(all());
            } else {
                methods.add(parse(label));
            }
        }
        return methods.stream().distinct().sorted().toList();
    }

    public static Method parse(String label) {
        for (Method method : values()) {
            if (method.label.equals(label)) {
                return method;
            }
        }
        throw new IllegalArgumentException("unknown method '" + label + "'; available: " + labels(all()) + " or "
                + ALL);
    }

    public static List<String> labels(List<Method> methods) {
        return methods.stream().map(Method::label).toList();
    }

    /**
     * The method a variant's recorded form belongs to: {@code trimllm+affine} is TrimLLM's, {@code ziplm+int8} ZipLM's,
     * {@code trimllm+ziplm} its own; null for a form of no method (the int8 parent alone).
     */
    static Method ofForm(String recorded) {
        String form = recorded.endsWith("+" + Precision.INT8.label())
                ? recorded.substring(0, recorded.length() - Precision.INT8.label().length() - 1) : recorded;
        for (Method method : values()) {
            if (method.label.equals(form)) {
                return method;
            }
        }
        String head = form.split("[+-]", 2)[0];
        return Arrays.stream(values()).filter(m -> m.label.equals(head)).findFirst().orElse(null);
    }
}
