package dev.tierserve.compressor.report;

import dev.tierserve.compressor.eval.EvaluationReport;
import dev.tierserve.compressor.eval.VariantResult;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Quality versus measured speedup, one point per model (XChart, PNG). */
public final class QualitySpeedupChart {

    private QualitySpeedupChart() {
    }

    public static void write(EvaluationReport report, Path png) {
        boolean encoder = report.results().get(0).encoder() != null;
        Map<String, double[]> points = new LinkedHashMap<>();
        for (VariantResult result : report.results()) {
            double quality = encoder ? result.encoder().meanCosine() : result.decoder().meanKl();
            points.put(uniqueName(points, result.name()), new double[] {result.measuredSpeedup(), quality});
        }
        write((report.synthetic() ? "[SYNTHETIC] " : "") + report.parent() + ": quality vs measured speedup",
                "measured speedup (" + report.latencySettings().key() + ")",
                encoder ? "mean cosine to parent" : "KL(parent || variant)", points, png);
    }

    /** One labelled point per entry, {@code {speedup, quality}}, in insertion order. */
    public static void write(String title, String xTitle, String yTitle, Map<String, double[]> points, Path png) {
        Map<String, List<double[]>> series = new LinkedHashMap<>();
        points.forEach((name, point) -> series.put(name, List.of(point)));
        writeSeries(title, xTitle, yTitle, series, png);
    }

    /**
     * One labelled series per entry, in insertion order: its points ({@code {speedup, quality}}) joined by a line in
     * speedup order, so a method's tiers read as one curve; a series of one point is a lone marker.
     */
    public static void writeSeries(String title, String xTitle, String yTitle, Map<String, List<double[]>> series,
                                   Path png) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(800).height(560).title(title).xAxisTitle(xTitle)
                .yAxisTitle(yTitle).build();
        chart.getStyler().setMarkerSize(10);
        for (Map.Entry<String, List<double[]>> entry : series.entrySet()) {
            List<double[]> points = entry.getValue().stream().sorted(Comparator.comparingDouble(p -> p[0])).toList();
            XYSeries line = chart.addSeries(entry.getKey(), points.stream().map(p -> p[0]).toList(),
                    points.stream().map(p -> p[1]).toList());
            line.setXYSeriesRenderStyle(points.size() == 1 ? XYSeries.XYSeriesRenderStyle.Scatter
                    : XYSeries.XYSeriesRenderStyle.Line);
            line.setMarker(SeriesMarkers.CIRCLE);
        }
        try {
            String file = png.toString();
            BitmapEncoder.saveBitmap(chart, file.endsWith(".png") ? file.substring(0, file.length() - 4) : file,
                    BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }

    private static String uniqueName(Map<String, double[]> points, String name) {
        String unique = name;
        for (int i = 2; points.containsKey(unique); i++) {
            unique = name + " (" + i + ")";
        }
        return unique;
    }
}
