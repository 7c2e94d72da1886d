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
import java.util.List;

/** Quality versus measured speedup, one point per model (XChart, PNG). */
public final class QualitySpeedupChart {

    private QualitySpeedupChart() {
    }

    public static void write(EvaluationReport report, Path png) {
        System.setProperty("java.awt.headless", "true");
        boolean encoder = report.results().get(0).encoder() != null;
        XYChart chart = new XYChartBuilder().width(800).height(560)
                .title((report.synthetic() ? "[SYNTHETIC] " : "") + report.parent() + ": quality vs measured speedup")
                .xAxisTitle("measured speedup (" + report.latencySettings().key() + ")")
                .yAxisTitle(encoder ? "mean cosine to parent" : "KL(parent || variant)")
                .build();
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setMarkerSize(10);
        for (VariantResult result : report.results()) {
            double quality = encoder ? result.encoder().meanCosine() : result.decoder().meanKl();
            XYSeries series = chart.addSeries(uniqueName(chart, result.name()), List.of(result.measuredSpeedup()),
                    List.of(quality));
            series.setMarker(SeriesMarkers.CIRCLE);
        }
        try {
            String file = png.toString();
            BitmapEncoder.saveBitmap(chart, file.endsWith(".png") ? file.substring(0, file.length() - 4) : file,
                    BitmapEncoder.BitmapFormat.PNG);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + png, e);
        }
    }

    private static String uniqueName(XYChart chart, String name) {
        String unique = name;
        for (int i = 2; chart.getSeriesMap().containsKey(unique); i++) {
            unique = name + " (" + i + ")";
        }
        return unique;
    }
}
