// Time charts drawn with uPlot (vendor/uPlot.iife.min.js, loaded before the
// modules as the global `uPlot`). A chart follows its container's width and
// is redrawn in the other palette when the system switches light and dark.

import { el, fill } from "/ui/dom.js";

const HEIGHT = 220;
// Distinguishable in light and dark; the eleventh is the "other" models' grey.
const PALETTE = [
  "#3b82f6", "#ef4444", "#10b981", "#f59e0b", "#8b5cf6",
  "#06b6d4", "#ec4899", "#84cc16", "#f97316", "#6366f1", "#94a3b8",
];

/** container → {plot, spec}: what is drawn where, to resize and redraw it. */
const drawn = new Map();

// One observer for every chart; the resize waits for the next frame so it
// never changes layout inside the observer's own callback (which would make
// the browser report a ResizeObserver loop).
const resizer = new ResizeObserver((entries) => {
  requestAnimationFrame(() => {
    for (const { target } of entries) {
      const chart = drawn.get(target);
      const width = target.clientWidth;
      if (chart?.plot && width > 0 && width !== chart.plot.width) chart.plot.setSize({ width, height: HEIGHT });
    }
  });
});

matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => {
  for (const [container, { spec }] of drawn) drawChart(container, spec);
});

/**
 * Draws `spec` into `container`: `{times: [ms…], series: [{label, values}],
 * format: (y) => text, range: [min, max]?, empty: "text"}`. With no time or
 * no series it shows `empty` instead (uPlot needs at least one of each).
 */
export function drawChart(container, spec) {
  const old = drawn.get(container);
  old?.plot?.destroy();
  drawn.set(container, { plot: null, spec });
  resizer.observe(container);
  if (!spec.times.length || !spec.series.length || typeof uPlot !== "function") {
    fill(container, el("p", { class: "chart-empty" }, spec.empty || "Nothing in this window."));
    return;
  }
  const style = getComputedStyle(document.documentElement);
  const ink = style.getPropertyValue("--muted").trim() || "#666";
  const rule = style.getPropertyValue("--rule").trim() || "#ddd";
  const axis = { stroke: ink, grid: { stroke: rule, width: 1 }, ticks: { stroke: rule, width: 1 } };
  const format = spec.format || String;
  const sparse = spec.times.length < 40;
  const options = {
    width: container.clientWidth || 600,
    height: HEIGHT,
    scales: { x: { time: true }, y: spec.range ? { range: spec.range } : {} },
    axes: [axis, { ...axis, size: 72, values: (plot, ticks) => ticks.map(format) }],
    series: [
      { value: (plot, seconds) => (seconds == null ? "—" : new Date(seconds * 1000).toLocaleString()) },
      ...spec.series.map((series, index) => ({
        label: series.label,
        stroke: series.color || PALETTE[index % PALETTE.length],
        width: 2,
        spanGaps: false,
        points: { show: sparse, size: 6 },
        value: (plot, y) => (y == null ? "—" : format(y)),
      })),
    ],
    legend: { live: true },
    cursor: { drag: { x: false, y: false } },
  };
  // uPlot counts time in seconds, and wants every series as long as the times.
  const data = [
    spec.times.map((t) => t / 1000),
    ...spec.series.map((s) => spec.times.map((_, i) => numberOrNull(s.values[i]))),
  ];
  container.replaceChildren();
  drawn.set(container, { plot: new uPlot(options, data, container), spec });
}

function numberOrNull(value) {
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}
