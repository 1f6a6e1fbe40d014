// The deployment page's live charts (uPlot, vendored): each a few minutes of the live feed's samples.

const MIN_SPAN_S = 60; // a chart shows at least a minute, so its time axis reads in seconds
const COLOURS = { green: "#1a7f37", red: "#cf222e", orange: "#bc4c00", purple: "#8250df", blue: "#0a58b8", grey: "#6e7781" };

// Each chart: its element's data-chart name, the series it draws, and how to read each from a sample.
export const CHARTS = {
  requests: {
    unit: "requests/s",
    series: [
      ["answered", COLOURS.green, (s) => s.requests_per_s.answered],
      ["error", COLOURS.red, (s) => s.requests_per_s.error],
      ["rejected (429)", COLOURS.orange, (s) => s.requests_per_s.rejected],
      ["timeout", COLOURS.purple, (s) => s.requests_per_s.timeout],
    ],
  },
  latency: {
    unit: "ms",
    series: [
      ["p50", COLOURS.blue, (s) => s.latency_ms.p50],
      ["p95", COLOURS.orange, (s) => s.latency_ms.p95],
      ["p99", COLOURS.red, (s) => s.latency_ms.p99],
    ],
  },
  queue: { unit: "documents", series: [["queued", COLOURS.blue, (s) => s.queued_documents]] },
  allocations: {
    unit: "allocations",
    series: [
      ["serving", COLOURS.green, (s) => s.allocations],
      ["target", COLOURS.grey, (s) => s.target_allocations, [6, 4]],
    ],
  },
  cache: {
    unit: "% of documents",
    series: [["cache hits", COLOURS.purple, (s) => (s.cache_hit_rate === null ? null : s.cache_hit_rate * 100)]],
  },
};

function options(name, width) {
  const chart = CHARTS[name];
  return {
    width,
    height: 170,
    legend: { live: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true, range: (u, min, max) => [Math.min(min, max - MIN_SPAN_S), max] }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.15)] } },
    axes: [{}, { size: 48, label: chart.unit, labelSize: 16 }],
    series: [
      {},
      ...chart.series.map(([label, stroke, , dash]) => ({
        label, stroke, dash, width: 2, spanGaps: true, points: { show: false },
        paths: name === "allocations" ? uPlot.paths.stepped({ align: 1 }) : undefined,
      })),
    ],
  };
}

function columns(name, samples) {
  const chart = CHARTS[name];
  return [samples.map((sample) => sample.time / 1000), ...chart.series.map(([, , read]) => samples.map(read))];
}

export class DeploymentCharts {
  constructor(root) {
    this.plots = new Map();
    this.resize = new ResizeObserver(() => this.fit());
    for (const element of root.querySelectorAll("[data-chart]")) {
      const name = element.dataset.chart;
      const plot = new uPlot(options(name, Math.max(200, element.clientWidth)), columns(name, []), element);
      this.plots.set(name, { plot, element });
      this.resize.observe(element);
    }
  }

  update(samples) {
    for (const [name, { plot }] of this.plots) plot.setData(columns(name, samples));
  }

  fit() {
    for (const { plot, element } of this.plots.values()) {
      const width = Math.max(200, element.clientWidth);
      if (Math.abs(plot.width - width) > 2) plot.setSize({ width, height: 170 });
    }
  }

  destroy() {
    this.resize.disconnect();
    for (const { plot } of this.plots.values()) plot.destroy();
    this.plots.clear();
  }
}
