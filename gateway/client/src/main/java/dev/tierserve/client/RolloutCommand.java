package dev.tierserve.client;

import dev.tierserve.proto.admin.AdminServiceGrpc;
import dev.tierserve.proto.admin.AdminServiceGrpc.AdminServiceBlockingStub;
import dev.tierserve.proto.admin.ChangeRequest;
import dev.tierserve.proto.admin.ListModelsRequest;
import dev.tierserve.proto.admin.ListModelsResponse;
import dev.tierserve.proto.admin.ModelTiers;
import dev.tierserve.proto.admin.Rollout;
import dev.tierserve.proto.admin.RolloutEvent;
import dev.tierserve.proto.admin.SetCanaryRequest;
import dev.tierserve.proto.admin.SetShadowRequest;
import dev.tierserve.proto.admin.TierRef;
import dev.tierserve.proto.admin.TierState;
import dev.tierserve.proto.admin.VariantInfo;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Help.Visibility;
import picocli.CommandLine.Option;

/** {@code rollout status|canary|shadow|promote|rollback}: the gateway's admin API, with the admin token. */
@Command(name = "rollout", description = "Shows and changes the rollouts of variants (needs the admin token).",
        subcommands = {RolloutCommand.Status.class, RolloutCommand.Canary.class, RolloutCommand.Shadow.class,
                RolloutCommand.Promote.class, RolloutCommand.Rollback.class, RolloutCommand.Chart.class},
        footer = {"  java -jar gateway/client/target/tierserve-client.jar rollout \\",
                "      --token-file admin-token status --model bge-small-en-v1.5"})
final class RolloutCommand {

    @CommandLine.ParentCommand InferenceClient parent;

    @Option(names = "--token-file", defaultValue = "${env:TIERSERVE_ADMIN_TOKEN_FILE}",
            description = "file holding the gateway's admin token (default: $TIERSERVE_ADMIN_TOKEN_FILE)")
    Path tokenFile;

    <T> T call(Function<AdminServiceBlockingStub, T> rpc) {
        if (tokenFile == null) {
            throw new IllegalArgumentException("rollout commands need the admin token: --token-file FILE or "
                    + "TIERSERVE_ADMIN_TOKEN_FILE");
        }
        String token;
        try {
            token = Files.readString(tokenFile, StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the admin token file " + tokenFile + ": " + e);
        }
        Metadata headers = new Metadata();
        headers.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
        ManagedChannel channel = parent.channel().build();
        try {
            return rpc.apply(AdminServiceGrpc.newBlockingStub(channel)
                    .withInterceptors(MetadataUtils.newAttachHeadersInterceptor(headers))
                    .withDeadlineAfter(60, TimeUnit.SECONDS));
        } finally {
            channel.shutdownNow();
        }
    }

    /** The options every change names. */
    static final class Target {
        @Option(names = "--model", required = true) String model;
        @Option(names = "--tier", required = true, description = "a speedup tier, e.g. 2x") String tier;
        @Option(names = "--reason", defaultValue = "", showDefaultValue = Visibility.NEVER,
                description = "recorded in the rollout's history") String reason;
    }

    @Command(name = "status", description = "Every model's tiers, or one tier's rollout and its history.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar rollout status \\",
                    "      --model bge-small-en-v1.5 --tier 1.5x"})
    static final class Status implements Callable<Integer> {
        @CommandLine.ParentCommand RolloutCommand rollout;
        @Option(names = "--model", defaultValue = "", showDefaultValue = Visibility.NEVER,
                description = "one model (default: every model)") String model;
        @Option(names = "--tier", description = "with --model: this tier's rollout and history") String tier;
        @Option(names = "--json", description = "print the answer as JSON") boolean json;

        @Override
        public Integer call() {
            if (tier != null) {
                if (model.isEmpty()) {
                    throw new IllegalArgumentException("--tier needs --model");
                }
                Rollout answer = rollout.call(stub -> stub.getRollout(TierRef.newBuilder().setModel(model)
                        .setTier(tier).build()));
                System.out.println(json ? InferenceClient.json(answer) : describe(answer));
                return 0;
            }
            ListModelsResponse answer = rollout.call(stub -> stub.listModels(ListModelsRequest.newBuilder()
                    .setModel(model).build()));
            if (json) {
                System.out.println(InferenceClient.json(answer));
                return 0;
            }
            for (ModelTiers models : answer.getModelsList()) {
                System.out.println("model " + models.getModel());
                for (TierState state : models.getTiersList()) {
                    System.out.println("  " + describe(state));
                }
                for (VariantInfo variant : models.getVariantsList()) {
                    System.out.printf(Locale.ROOT, "  variant %s: tier %s, %s, measured %.2fx, cosine %.4f%n",
                            variant.getId(), variant.getTier(), variant.getMethod(), variant.getMeasuredSpeedup(),
                            variant.getMeanCosine());
                }
            }
            return 0;
        }
    }

    @Command(name = "canary", description = "Makes a variant a tier's canary at a weight (0: shadow only).",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar rollout canary \\",
                    "      --model bge-small-en-v1.5 --tier 1.5x --variant v2 --weight 0.1 \\",
                    "      --reason \"v2: new calibration set\""})
    static final class Canary implements Callable<Integer> {
        @CommandLine.ParentCommand RolloutCommand rollout;
        @CommandLine.Mixin Target target;
        @Option(names = "--variant", required = true) String variant;
        @Option(names = "--weight", required = true, showDefaultValue = Visibility.NEVER,
                description = "share of the tier's requests, 0 to 1")
        double weight;

        @Override
        public Integer call() {
            System.out.println(describe(rollout.<Rollout>call(stub -> stub.setCanary(SetCanaryRequest.newBuilder()
                    .setModel(target.model).setTier(target.tier).setVariant(variant).setWeight(weight)
                    .setReason(target.reason).build()))));
            return 0;
        }
    }

    @Command(name = "shadow", description = "Sets the share of a tier's requests compared with exact on the canary.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar rollout shadow \\",
                    "      --model bge-small-en-v1.5 --tier 1.5x --rate 0.2"})
    static final class Shadow implements Callable<Integer> {
        @CommandLine.ParentCommand RolloutCommand rollout;
        @CommandLine.Mixin Target target;
        @Option(names = "--rate", required = true, showDefaultValue = Visibility.NEVER,
                description = "0 to 1; 0 stops shadowing") double rate;

        @Override
        public Integer call() {
            System.out.println(describe(rollout.<Rollout>call(stub -> stub.setShadow(SetShadowRequest.newBuilder()
                    .setModel(target.model).setTier(target.tier).setSampleRate(rate).setReason(target.reason)
                    .build()))));
            return 0;
        }
    }

    @Command(name = "promote", description = "Makes the tier's canary its stable variant.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar rollout promote \\",
                    "      --model bge-small-en-v1.5 --tier 1.5x --reason \"no failed checks\""})
    static final class Promote implements Callable<Integer> {
        @CommandLine.ParentCommand RolloutCommand rollout;
        @CommandLine.Mixin Target target;

        @Override
        public Integer call() {
            System.out.println(describe(rollout.<Rollout>call(stub -> stub.promote(change(target)))));
            return 0;
        }
    }

    @Command(name = "rollback", description = "Removes the tier's canary; its stable variant answers alone.",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar rollout rollback \\",
                    "      --model bge-small-en-v1.5 --tier 1.5x"})
    static final class Rollback implements Callable<Integer> {
        @CommandLine.ParentCommand RolloutCommand rollout;
        @CommandLine.Mixin Target target;

        @Override
        public Integer call() {
            System.out.println(describe(rollout.<Rollout>call(stub -> stub.rollback(change(target)))));
            return 0;
        }
    }

    @Command(name = "chart", description = "Draws a tier's rollout history as a timeline (PNG).",
            footer = {"  java -jar gateway/client/target/tierserve-client.jar rollout chart \\",
                    "      --model bge-small-en-v1.5 --tier 1.5x --out rollout.png"})
    static final class Chart implements Callable<Integer> {
        @CommandLine.ParentCommand RolloutCommand rollout;
        @Option(names = "--model", required = true) String model;
        @Option(names = "--tier", required = true) String tier;
        @Option(names = "--out", required = true, description = "the PNG to write") Path out;

        @Override
        public Integer call() {
            Rollout answer = rollout.call(stub -> stub.getRollout(TierRef.newBuilder().setModel(model).setTier(tier)
                    .build()));
            RolloutTimelineChart.write(answer, out);
            System.out.println("wrote " + out);
            return 0;
        }
    }

    private static ChangeRequest change(Target target) {
        return ChangeRequest.newBuilder().setModel(target.model).setTier(target.tier).setReason(target.reason).build();
    }

    private static String describe(TierState state) {
        String line = String.format(Locale.ROOT, "tier %s: stable %s", state.getTier(),
                state.getStable().isEmpty() ? "(none)" : state.getStable());
        if (!state.getCanary().isEmpty()) {
            line += String.format(Locale.ROOT, ", canary %s at weight %.2f (%d failed check(s))", state.getCanary(),
                    state.getCanaryWeight(), state.getFailedChecks());
        }
        if (state.getShadowRate() > 0) {
            line += String.format(Locale.ROOT, ", shadow rate %.2f", state.getShadowRate());
        }
        return line;
    }

    private static String describe(Rollout rollout) {
        StringBuilder text = new StringBuilder("model " + rollout.getModel() + ", " + describe(rollout.getState()));
        for (RolloutEvent event : rollout.getHistoryList()) {
            text.append(String.format(Locale.ROOT, "%n  %s %-12s %s weight %.2f -> %.2f by %s: %s", event.getTime(),
                    event.getAction(), event.getVariant(), event.getFromWeight(), event.getToWeight(),
                    event.getActor(), event.getReason()));
        }
        return text.toString();
    }
}
