package dev.tierserve.it;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HTTPGetAction;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.ServicePort;
import io.fabric8.kubernetes.api.model.Volume;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.autoscaling.v2.HorizontalPodAutoscaler;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code deploy/}: every overlay renders with {@code kubectl kustomize}, its objects read as fabric8's typed Kubernetes
 * objects, and they agree with the application: the ports and probe paths the packaged gateway serves (probed on a
 * running one), the configuration names it reads, the worker options the packaged compressor accepts, the image names
 * the Dockerfile builds and the Secrets deploy/README.md creates.
 */
class DeployIT {

    private static final Path KUSTOMIZE = PackagedGateway.ROOT.resolve("deploy/kubernetes/overlays");
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final ObjectMapper JSON = new ObjectMapper().disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);

    @TempDir
    static Path home;

    private static Properties application;
    /** deploy/README.md: the Secrets it creates. */
    private static String deployReadme;
    /** Every README: the settings they document. */
    private static String readmes;

    /** One rendered overlay, by kind and name. */
    private record Rendered(Map<String, JsonNode> objects) {
        <T> T get(String kind, String name, Class<T> type) {
            JsonNode node = objects.get(kind + "/" + name);
            assertNotNull(node, "no " + kind + " " + name + " in " + objects.keySet());
            return JSON.convertValue(node, type);
        }
    }

    @BeforeAll
    static void readTheApplication() throws IOException {
        application = new Properties();
        try (var in = Files.newBufferedReader(PackagedGateway.ROOT.resolve(
                "gateway/server/src/main/resources/application.properties"))) {
            application.load(in);
        }
        deployReadme = Files.readString(PackagedGateway.ROOT.resolve("deploy/README.md"));
        StringBuilder all = new StringBuilder();
        for (String file : List.of("README.md", "gateway/README.md", "compressor/README.md", "deploy/README.md")) {
            all.append(Files.readString(PackagedGateway.ROOT.resolve(file))).append('\n');
        }
        readmes = all.toString();
    }

    @Test
    void everyOverlayRendersAndAgreesWithTheApplication() throws Exception {
        Set<String> secretsReadmeCreates = new HashSet<>();
        Matcher created = Pattern.compile("kubectl create secret generic ([a-z0-9-]+)").matcher(deployReadme);
        while (created.find()) {
            secretsReadmeCreates.add(created.group(1));
        }
        String dockerfile = Files.readString(PackagedGateway.ROOT.resolve("deploy/docker/Dockerfile"));
        String workerHelp = compressorHelp();
        for (String overlay : List.of("cpu", "cuda")) {
            Rendered rendered = render(overlay);
            Deployment gateway = rendered.get("Deployment", "tierserve-gateway", Deployment.class);
            Container container = gateway.getSpec().getTemplate().getSpec().getContainers().get(0);
            assertEquals(Integer.parseInt(application.getProperty("quarkus.grpc.server.port")), port(container, "grpc"));
            assertEquals(Integer.parseInt(application.getProperty("quarkus.http.port")), port(container, "http"));
            assertEquals(port(container, "grpc"), container.getReadinessProbe().getGrpc().getPort());
            assertTrue(dockerfile.contains("-t " + container.getImage() + " "), "the Dockerfile builds "
                    + container.getImage());
            // The image carries the remote packaging, without the compressor: the local mode cannot run there.
            assertTrue(dockerfile.contains("COPY --from=build /src/gateway/server/target/quarkus-app-remote/ /app/"),
                    "the gateway image is the remote packaging");
            assertEquals("remote", env(container, "GATEWAY_COMPRESSOR_MODE"));

            // Draining: the preStop pause and the gateway's own shutdown timeout fit in the grace period.
            long drain = container.getLifecycle().getPreStop().getSleep().getSeconds()
                    + Long.parseLong(env(container, "QUARKUS_SHUTDOWN_TIMEOUT").replace("s", ""));
            assertTrue(gateway.getSpec().getTemplate().getSpec().getTerminationGracePeriodSeconds() > drain);

            // Every gateway setting it passes is one the READMEs document (and so one the gateway reads), in the
            // environment-variable form of its property name (MicroProfile Config: upper case, other characters '_').
            Set<String> documented = new HashSet<>();
            Matcher property = Pattern.compile("`((?:gateway|quarkus)\\.[a-z0-9.-]+)`").matcher(readmes);
            while (property.find()) {
                documented.add(property.group(1).toUpperCase(java.util.Locale.ROOT).replaceAll("[^A-Z0-9]", "_"));
            }
            for (String name : gatewaySettings(rendered, container)) {
                assertTrue(documented.contains(name), name + " is not the variable of a documented setting");
            }

            Set<String> referencedSecrets = new HashSet<>();
            for (Deployment deployment : List.of(gateway, rendered.get("Deployment", "tierserve-worker",
                    Deployment.class))) {
                var pod = deployment.getSpec().getTemplate().getSpec();
                for (Container c : pod.getContainers()) {
                    for (EnvFromSource from : c.getEnvFrom()) {
                        if (from.getSecretRef() != null) {
                            referencedSecrets.add(from.getSecretRef().getName());
                        }
                        if (from.getConfigMapRef() != null) {
                            rendered.get("ConfigMap", from.getConfigMapRef().getName(), ConfigMap.class);
                        }
                    }
                }
                for (Volume volume : pod.getVolumes()) {
                    if (volume.getSecret() != null) {
                        referencedSecrets.add(volume.getSecret().getSecretName());
                    }
                    if (volume.getConfigMap() != null) {
                        rendered.get("ConfigMap", volume.getConfigMap().getName(), ConfigMap.class);
                    }
                }
            }
            assertEquals(secretsReadmeCreates, referencedSecrets, "the Secrets deploy/README.md creates");

            Container worker = rendered.get("Deployment", "tierserve-worker", Deployment.class).getSpec()
                    .getTemplate().getSpec().getContainers().get(0);
            assertTrue(dockerfile.contains("-t " + worker.getImage() + " ") || dockerfile.contains(
                    worker.getImage().replace("gateway", "compressor")), "the Dockerfile builds " + worker.getImage());
            for (String arg : worker.getArgs()) {
                if (arg.startsWith("--")) {
                    assertTrue(workerHelp.contains(arg), "compressor serve has no option " + arg);
                }
            }

            for (String name : List.of("tierserve-gateway", "tierserve-gateway-headless")) {
                Service service = rendered.get("Service", name, Service.class);
                assertEquals(gateway.getSpec().getSelector().getMatchLabels(), service.getSpec().getSelector());
                for (ServicePort servicePort : service.getSpec().getPorts()) {
                    port(container, servicePort.getTargetPort().getStrVal());
                }
            }
            assertEquals("None", rendered.get("Service", "tierserve-gateway-headless", Service.class).getSpec()
                    .getClusterIP());
            HorizontalPodAutoscaler hpa = rendered.get("HorizontalPodAutoscaler", "tierserve-gateway",
                    HorizontalPodAutoscaler.class);
            assertEquals("tierserve-gateway", hpa.getSpec().getScaleTargetRef().getName());
            assertEquals("Pods", hpa.getSpec().getMetrics().get(0).getType());
            assertEquals(gateway.getSpec().getSelector().getMatchLabels(), rendered.get("PodDisruptionBudget",
                    "tierserve-gateway", PodDisruptionBudget.class).getSpec().getSelector().getMatchLabels());
            JsonNode monitor = rendered.objects().get("ServiceMonitor/tierserve-gateway");
            assertEquals("http", monitor.at("/spec/endpoints/0/port").asText());
            assertEquals("/q/metrics", monitor.at("/spec/endpoints/0/path").asText());
            ConfigMap dashboard = rendered.get("ConfigMap", "tierserve-grafana-dashboard", ConfigMap.class);
            assertTrue(JSON.readTree(dashboard.getData().get("tierserve-dashboard.json")).has("panels"));

            boolean cuda = overlay.equals("cuda");
            for (Container c : List.of(container, worker)) {
                Quantity gpus = c.getResources().getLimits().get("nvidia.com/gpu");
                assertEquals(cuda, gpus != null && gpus.getAmount().equals("1"), overlay + ": " + c.getName());
            }
            if (overlay.equals("cpu")) {
                probeTheRunningGateway(container);
            }
        }
    }

    /** Every HTTP probe path of the Deployment answers 200 on the packaged gateway. */
    private static void probeTheRunningGateway(Container container) throws Exception {
        List<HTTPGetAction> probes = new ArrayList<>();
        for (Probe probe : List.of(container.getLivenessProbe(), container.getStartupProbe())) {
            probes.add(probe.getHttpGet());
        }
        try (PackagedGateway gateway = PackagedGateway.start(home.resolve("gateway"), "gateway.compressor.mode=off")) {
            HttpClient http = HttpClient.newHttpClient();
            for (HTTPGetAction probe : probes) {
                HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(gateway.httpBase()
                        + probe.getPath())).build(), HttpResponse.BodyHandlers.ofString());
                assertEquals(200, response.statusCode(), probe.getPath() + ": " + response.body());
            }
        }
    }

    private static Rendered render(String overlay) throws Exception {
        Process kubectl;
        try {
            kubectl = new ProcessBuilder("kubectl", "kustomize", KUSTOMIZE.resolve(overlay).toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) { // no kubectl on the PATH: say what to install, not the IOException's stack
            throw new AssertionError("kubectl is needed to render deploy/'s Kustomize overlays: install Debian's "
                    + "kubectl package (apt-get install kubectl)");
        }
        String out = new String(kubectl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, kubectl.waitFor(), "kubectl kustomize " + overlay + ":\n" + out);
        Map<String, JsonNode> objects = new java.util.LinkedHashMap<>();
        try (var parser = new YAMLFactory().createParser(new StringReader(out))) {
            for (JsonNode node : YAML.readValues(parser, JsonNode.class).readAll()) {
                String name = node.at("/metadata/name").asText();
                String kind = node.at("/kind").asText();
                // Generated ConfigMaps carry a content hash: known by their base name.
                if (kind.equals("ConfigMap")) {
                    name = name.replaceAll("-[a-z0-9]{10}$", "");
                }
                objects.put(kind + "/" + name, node);
            }
        }
        // References to generated ConfigMaps carry the hash too: read them by base name as well.
        Map<String, JsonNode> byBase = new java.util.LinkedHashMap<>();
        String text = JSON.writeValueAsString(objects).replaceAll("(tierserve-[a-z0-9-]+?)-[a-z0-9]{10}\"", "$1\"");
        JSON.readTree(text).fields().forEachRemaining(e -> byBase.put(e.getKey(), e.getValue()));
        return new Rendered(byBase);
    }

    private static int port(Container container, String name) {
        return container.getPorts().stream().filter(p -> name.equals(p.getName())).findFirst()
                .orElseThrow(() -> new AssertionError("no container port " + name)).getContainerPort();
    }

    private static String env(Container container, String name) {
        return container.getEnv().stream().filter(e -> e.getName().equals(name)).map(EnvVar::getValue).findFirst()
                .orElseThrow(() -> new AssertionError("no env " + name));
    }

    /** GATEWAY_* names the gateway gets: its env and the keys of the ConfigMaps it takes env from. */
    private static List<String> gatewaySettings(Rendered rendered, Container container) {
        List<String> names = new ArrayList<>();
        container.getEnv().forEach(e -> names.add(e.getName()));
        for (EnvFromSource from : container.getEnvFrom()) {
            if (from.getConfigMapRef() != null) {
                names.addAll(rendered.get("ConfigMap", from.getConfigMapRef().getName(), ConfigMap.class).getData()
                        .keySet());
            }
        }
        return names.stream().filter(n -> n.startsWith("GATEWAY_") || n.startsWith("QUARKUS_")).toList();
    }

    private static String compressorHelp() throws Exception {
        Process help = new ProcessBuilder(PackagedGateway.java(), "-jar",
                PackagedGateway.ROOT.resolve("compressor/target/tierserve-compressor.jar").toString(), "serve",
                "--help").redirectErrorStream(true).start();
        String out = new String(help.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, help.waitFor(), out);
        return out;
    }
}
