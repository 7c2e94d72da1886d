package dev.tierserve.client;

import dev.tierserve.proto.admin.Rollout;
import dev.tierserve.proto.admin.RolloutEvent;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * A tier's rollout history as a timeline (XChart, PNG): above, each canary's weight and its agreement with exact at
 * each verdict; below, the tail compute time of the canary and of the stable variant the judge compared. One series
 * per canary, named with how its rollout ended.
 */
final class RolloutTimelineChart {

    private static final int WIDTH = 1000;
    private static final int HEIGHT = 420;

    /** One canary's rollout: its events from the one that set it to the one that ended it. */
    private record Episode(String variant, List<RolloutEvent> events) {
        String label() {
            String last = events.get(events.size() - 1).getAction();
            return variant + (last.equals("PROMOTE") ? " (promoted)" : last.equals("ROLLBACK") ? " (rolled back)" : "");
        }
    }

    private RolloutTimelineChart() {
    }

    static void write(Rollout rollout, Path png) {
        System.setProperty("java.awt.headless", "true");
        List<Episode> episodes = episodes(rollout.getHistoryList());
        if (episodes.isEmpty()) {
            throw new IllegalArgumentException("tier " + rollout.getState().getTier() + " of " + rollout.getModel()
                    + " has no canary in its history");
        }
        Instant start = Instant.parse(episodes.get(0).events().get(0).getTime());
        String title = rollout.getModel() + " tier " + rollout.getState().getTier();
        XYChart share = chart(title + ": canary weight and agreement with exact", "share / cosine");
        XYChart latency = chart("tail compute time at each verdict (p99 from 1,000 requests a side, else p90)", "ms");
        for (Episode episode : episodes) {
            List<Double> t = new ArrayList<>();
            List<Double> weight = new ArrayList<>();
            Map<Double, Double> agreement = new LinkedHashMap<>();
            Map<Double, Double> canaryTail = new LinkedHashMap<>();
            Map<Double, Double> stableTail = new LinkedHashMap<>();
            for (RolloutEvent event : episode.events()) {
                double seconds = Duration.between(start, Instant.parse(event.getTime())).toMillis() / 1000.0;
                t.add(seconds);
                weight.add(event.getToWeight());
                put(agreement, seconds, event, "agreement");
                put(canaryTail, seconds, event, "canary_p99_ms", "canary_p90_ms");
                put(stableTail, seconds, event, "stable_p99_ms", "stable_p90_ms");
            }
            XYSeries steps = share.addSeries("weight: " + episode.label(), t, weight);
            steps.setMarker(SeriesMarkers.CIRCLE);
            scatter(share, "agreement: " + episode.label(), agreement);
            scatter(latency, "canary: " + episode.label(), canaryTail);
            scatter(latency, "stable (beside " + episode.variant() + ")", stableTail);
        }
        share.getStyler().setYAxisMin(0.0).setYAxisMax(1.05);
        BufferedImage image = new BufferedImage(WIDTH, 2 * HEIGHT, BufferedImage.TYPE_INT_RGB);
        Graphics2D graphics = image.createGraphics();
        graphics.drawImage(BitmapEncoder.getBufferedImage(share), 0, 0, null);
        graphics.drawImage(BitmapEncoder.getBufferedImage(latency), 0, HEIGHT, null);
        graphics.dispose();
        try {
            ImageIO.write(image, "png", png.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }

    private static List<Episode> episodes(List<RolloutEvent> history) {
        List<Episode> episodes = new ArrayList<>();
        Episode current = null;
        for (RolloutEvent event : history) {
            if (event.getAction().equals("CANARY")) {
                current = new Episode(event.getVariant(), new ArrayList<>());
                episodes.add(current);
            }
            if (current != null && event.getVariant().equals(current.variant())) {
                current.events().add(event);
                if (event.getAction().equals("PROMOTE") || event.getAction().equals("ROLLBACK")) {
                    current = null;
                }
            }
        }
        return episodes;
    }

    private static XYChart chart(String title, String yAxis) {
        XYChart chart = new XYChartBuilder().width(WIDTH).height(HEIGHT).title(title)
                .xAxisTitle("seconds since the first canary").yAxisTitle(yAxis).build();
        chart.getStyler().setMarkerSize(7);
        return chart;
    }

    /** The event's first value of {@code names} there is, at {@code seconds}. */
    private static void put(Map<Double, Double> series, double seconds, RolloutEvent event, String... names) {
        for (String name : names) {
            Double value = event.getValuesMap().get(name);
            if (value != null && !value.isNaN()) {
                series.put(seconds, value);
                return;
            }
        }
    }

    private static void scatter(XYChart chart, String name, Map<Double, Double> points) {
        if (points.isEmpty()) {
            return;
        }
        XYSeries series = chart.addSeries(name, new ArrayList<>(points.keySet()), new ArrayList<>(points.values()));
        series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        series.setMarker(SeriesMarkers.DIAMOND);
    }
}
