/* Segments: the run's parameters and silhouette, each segment's size and revenue share, an RFM scatter
 * coloured by segment (an even sample from the server when the run is large), audience downloads. */
(function () {
  "use strict";
  const D = window.Dashboard;
  const fmt = D.fmt;
  const runId = D.filter("run", null);

  if (D.permitted("segments")) D.gql("{ segmentations(limit: 20) { id algorithm asOf status } }").then((data) => {
    const select = document.getElementById("f-run");
    data.segmentations.filter((r) => r.status === "SUCCEEDED").forEach((r) => select.append(D.el("option", {
      value: r.id, text: "Run " + r.id + ": " + r.algorithm + " as of " + fmt.day(r.asOf) })));
    select.value = runId || "";
  }).catch(() => {});

  // One query feeds four panels; a user without the view permission never sends it.
  const segmentsQuery = !D.permitted("segments") ? Promise.resolve({ segments: [] }) : D.gql(`query ($runId: ID) { segments(runId: $runId) {
      id label size revenueShare recency frequency monetary isNoise audienceExportUrl
      run { id algorithm params features asOf customers k silhouette finishedAt } } }`, { runId });

  D.panel("run", async (section) => {
    const segments = (await segmentsQuery).segments;
    if (!segments.length) throw new Error("no successful segmentation run yet (run one from the admin or the API).");
    const run = segments[0].run;
    const rows = [["Run", run.id], ["Algorithm", run.algorithm], ["As of", fmt.day(run.asOf)],
      ["Customers", fmt.count(run.customers)], ["Segments (k)", fmt.count(run.k)],
      ["Silhouette", run.silhouette === null ? "–" : fmt.decimal(run.silhouette)],
      ["Features", (run.features || []).join(", ")], ["Finished", fmt.instant(run.finishedAt)],
      ["Parameters", Object.entries(run.params || {}).map(([k, v]) => k + "=" + JSON.stringify(v)).join(", ")]];
    document.getElementById("run").replaceChildren(D.el("dl", { class: "params" }, rows.flatMap(
      ([k, v]) => [D.el("dt", { text: k }), D.el("dd", { dataset: { run: k }, text: String(v) })])));
  });

  D.panel("sizes", async (section) => {
    const segments = (await segmentsQuery).segments;
    section.querySelector(".panel-body").prepend(D.el("dl", { class: "figures" }, segments.flatMap((s) => [
      D.el("dt", { text: s.label }),
      D.el("dd", { dataset: { segment: s.id, size: s.size }, text: fmt.count(s.size) + " · " + fmt.percent(s.revenueShare) }),
    ])));
    D.chart("chart-sizes", {
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 56, right: 56, top: 36, bottom: 32 },
      xAxis: { type: "category", data: segments.map((s) => s.label) },
      yAxis: [{ type: "value", name: "Customers" },
              { type: "value", name: "Revenue share", max: 1, axisLabel: { formatter: fmt.percent } }],
      series: [{ name: "Customers", type: "bar", data: segments.map((s) => s.size), tooltip: { valueFormatter: fmt.count } },
               { name: "Revenue share", type: "bar", yAxisIndex: 1, data: segments.map((s) => s.revenueShare),
                 tooltip: { valueFormatter: fmt.percent } }],
    }, segments.map((s) => s.label + ": " + fmt.count(s.size) + " customers, " + fmt.percent(s.revenueShare) + " of revenue").join("; ") + ".",
    { caption: "Segments", columns: ["Segment", "Customers", "Revenue share", "Mean recency (days)", "Mean orders", "Mean spend"],
      rows: segments.map((s) => [s.label, fmt.count(s.size), fmt.percent(s.revenueShare), fmt.decimal(s.recency),
                                 fmt.decimal(s.frequency), fmt.money(s.monetary)]) });
  });

  D.panel("scatter", async () => {
    const [segments, data] = await Promise.all([segmentsQuery, D.gql(`query ($runId: ID) {
      segmentScatter(runId: $runId, limit: 2000) { total sampled points { segmentId recency frequency monetary } } }`, { runId })]);
    const scatter = data.segmentScatter;
    const labels = new Map(segments.segments.map((s) => [s.id, s.label]));
    document.getElementById("scatter-note").textContent = scatter.sampled
      ? "(an even sample of " + fmt.count(scatter.points.length) + " of " + fmt.count(scatter.total) + " members)"
      : "(all " + fmt.count(scatter.total) + " members)";
    const bySegment = new Map(segments.segments.map((s) => [s.id, []]));
    scatter.points.forEach((p) => (bySegment.get(p.segmentId) || []).push([p.recency, p.monetary, p.frequency]));
    const symbols = ["circle", "rect", "triangle", "diamond", "pin", "arrow", "roundRect"];
    D.chart("chart-scatter", {
      tooltip: { trigger: "item", formatter: (p) => p.seriesName + ": " + p.value[0] + " days, " + fmt.money(p.value[1]) + ", " + p.value[2] + " orders" },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 36, bottom: 48 },
      xAxis: { type: "value", name: "Days since last purchase", nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "log", name: "Spend", axisLabel: { formatter: fmt.money } },
      series: Array.from(bySegment.entries()).map(([id, points], i) => ({
        name: labels.get(id), type: "scatter", symbol: symbols[i % symbols.length], large: points.length > 2000,
        symbolSize: (v) => Math.min(18, 4 + 2 * Math.sqrt(v[2])),
        data: points.map(([r, m, f]) => [r, Math.max(m, 0.01), f]) })),
    }, "Scatter of " + fmt.count(scatter.points.length) + " members: days since last purchase against spend, size by orders, shape and colour by segment.",
    { caption: "Sampled members per segment", columns: ["Segment", "Points", "Mean recency (days)", "Mean orders", "Mean spend"],
      rows: Array.from(bySegment.entries()).map(([id, pts]) => {
        const mean = (k) => (pts.length ? pts.reduce((a, p) => a + p[k], 0) / pts.length : null);
        return [labels.get(id), fmt.count(pts.length), fmt.decimal(mean(0)), fmt.decimal(mean(2)), fmt.money(mean(1))];
      }) });
  });

  D.panel("export", async () => {
    const segments = (await segmentsQuery).segments;
    document.getElementById("export").replaceChildren(D.el("ul", { class: "exports" }, segments.map((s) => D.el("li", {}, [
      s.audienceExportUrl ? D.el("a", { href: s.audienceExportUrl, download: "", text: s.label + " (" + fmt.count(s.size) + " customers)" })
                          : s.label + ": export not available",
    ]))));
  });

  D.start();
})();
