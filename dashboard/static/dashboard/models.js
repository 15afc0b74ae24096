/* Models: recommender versions against their baselines, forecast runs against seasonal naive; each can be
 * retrained here, with the job's progress shown live (polling `job`) until it ends, and a cancel button. */
(function () {
  "use strict";
  const D = window.Dashboard;
  const fmt = D.fmt;
  const POLL_MS = 1000;
  const JOB_FIELDS = "id pk kind status progress message cancelRequested error { code message }";
  const FINISHED = ["SUCCEEDED", "FAILED", "CANCELLED"];

  function metric(metrics, task, model, name) {
    const value = ((metrics[task] || {})[model] || {})[name];
    return value === undefined ? null : value;
  }

  D.panel("recommender", async () => {
    const data = await D.gql(`{ recommenderModels(first: 10) { edges { node {
      pk status isActive beatsBaselines primaryMetric metrics createdAt } } } }`);
    const versions = data.recommenderModels.edges.map((e) => e.node).reverse();
    if (!versions.length) throw new Error("no recommender version yet: retrain below.");
    const name = versions[versions.length - 1].primaryMetric;
    const lines = [["Discovery: model", "discovery", "served"], ["Discovery: popularity", "discovery", "popularity"],
      ["Next basket: model", "next_basket", "served"], ["Next basket: buy again", "next_basket", "buy_again"],
      ["Next basket: popularity", "next_basket", "popularity"]];
    D.chart("chart-recommender", {
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "–" : v.toFixed(4)) }, legend: { top: 0 },
      grid: { left: 56, right: 16, top: 56, bottom: 32 },
      xAxis: { type: "category", data: versions.map((v) => "v" + v.pk + (v.isActive ? " (active)" : "")) },
      yAxis: { type: "value", name: name },
      series: lines.map(([label, task, model]) => ({ name: label, type: "bar",
        data: versions.map((v) => metric(v.metrics, task, model, name)) })),
    }, "Held-out " + name + " of " + versions.length + " recommender versions against popularity and buy-again baselines.",
    { caption: "Recommender versions (" + name + ")", columns: ["Version", "Status", "Active", "Beats baselines", "Created"]
      .concat(lines.map(([label]) => label)),
      rows: versions.map((v) => ["v" + v.pk, v.status, v.isActive ? "yes" : "no", v.beatsBaselines ? "yes" : "no",
        fmt.instant(v.createdAt)].concat(lines.map(([, t, m]) => { const x = metric(v.metrics, t, m, name); return x === null ? "–" : x.toFixed(4); }))) });
  });

  D.panel("forecast", async () => {
    const data = await D.gql(`{ forecastRuns(first: 10) { edges { node { id measure horizon createdAt summary } } }
      units: forecast(measure: UNITS) { runId model backtest { mase smape coverage } baseline { mase smape coverage } }
      revenue: forecast(measure: REVENUE) { runId model backtest { mase smape coverage } baseline { mase smape coverage } } }`);
    const runs = data.forecastRuns.edges.map((e) => e.node).reverse();
    if (!runs.length) throw new Error("no forecast run yet: run one below.");
    const levels = [["Shop total", "total_median_mase_ratio"], ["Categories (median)", "category_median_mase_ratio"],
                    ["Products (median)", "product_median_mase_ratio"]];
    const ratio = (run, key) => (run.summary && run.summary[key] !== undefined ? run.summary[key] : null);
    D.chart("chart-forecast", {
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null ? "–" : fmt.decimal(v)) }, legend: { top: 0 },
      grid: { left: 56, right: 16, top: 56, bottom: 32 },
      xAxis: { type: "category", data: runs.map((r) => "Run " + r.id + " (" + r.measure.toLowerCase() + ")") },
      yAxis: { type: "value", name: "MASE ÷ seasonal naive's", nameTextStyle: { align: "left" } },
      series: levels.map(([label, key], i) => ({ name: label, type: "bar", data: runs.map((r) => ratio(r, key)),
        markLine: i ? undefined : { symbol: "none", label: { formatter: "seasonal naive", position: "insideEndTop" }, lineStyle: { type: "dashed" },
                                    data: [{ yAxis: 1 }] } })),
    }, "Backtest error of " + runs.length + " forecast runs relative to seasonal naive (below 1 beats it).",
    { caption: "Forecast runs (backtest MASE relative to seasonal naive; below 1 beats it)",
      columns: ["Run", "Measure", "Horizon (days)", "Created"].concat(levels.map(([l]) => l)).concat(["Beat baseline (categories)"]),
      rows: runs.map((r) => ["Run " + r.id, r.measure, fmt.count(r.horizon), fmt.instant(r.createdAt)]
        .concat(levels.map(([, k]) => fmt.decimal(ratio(r, k)))).concat([String((r.summary || {}).category_beat_baseline || "–")]))
      .concat(["units", "revenue"].filter((m) => data[m]).map((m) => ["Served total (" + m + ")", data[m].model,
        "MASE " + fmt.decimal(data[m].backtest.mase) + " vs " + fmt.decimal(data[m].baseline.mase), "sMAPE " +
        fmt.decimal(data[m].backtest.smape) + " vs " + fmt.decimal(data[m].baseline.smape), "", "", "", ""])) });
  });

  /* A button that submits a job, then shows its progress until it ends; cancel asks the worker to stop. */
  function jobButton(buttonId, boxId, mutation) {
    const button = document.getElementById(buttonId);
    const box = document.getElementById(boxId);
    if (!button) return;
    button.addEventListener("click", async () => {
      button.disabled = true;
      box.replaceChildren("Submitting…");
      try {
        const data = await D.gql(`mutation { result: ${mutation}(input: {}) { job { ${JOB_FIELDS} } errors { code message } } }`);
        if (data.result.errors.length) throw new Error(data.result.errors.map((e) => e.code + ": " + e.message).join(" "));
        await follow(data.result.job, box);
      } catch (error) {
        box.replaceChildren(D.el("span", { class: "notice error", role: "alert", text: error.message }));
      } finally {
        button.disabled = false;
      }
    });
  }

  function showJob(job, box, onCancel) {
    const done = FINISHED.includes(job.status);
    const parts = [D.el("progress", { max: "1", value: String(job.progress), "aria-label": "Job progress" }),
      D.el("span", { dataset: { jobStatus: job.status }, text: "Job " + job.pk + ": " + job.status.toLowerCase() + " " +
        fmt.percent(job.progress) + (job.message ? " · " + job.message : "") + (job.error ? " · " + job.error.code + ": " + job.error.message : "") })];
    if (!done && !job.cancelRequested) {
      const cancel = D.el("button", { type: "button", class: "secondary", text: "Cancel" });
      cancel.addEventListener("click", onCancel);
      parts.push(cancel);
    }
    box.replaceChildren(...parts);
    return done;
  }

  async function follow(job, box) {
    const cancel = async () => {
      const data = await D.gql(`mutation ($id: ID!) { cancelJob(id: $id) { job { ${JOB_FIELDS} } errors { code message } } }`, { id: job.id });
      if (data.cancelJob.job) showJob(data.cancelJob.job, box, cancel);
    };
    while (!showJob(job, box, cancel)) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      job = (await D.gql(`query ($id: ID!) { job(id: $id) { ${JOB_FIELDS} } }`, { id: job.id })).job;
    }
    if (job.status === "SUCCEEDED") {
      box.append(D.el("a", { href: window.location.href, text: "Reload to see the new result" }));
    }
  }

  jobButton("train-recommender", "job-recommender", "trainRecommender");
  jobButton("run-forecast", "job-forecast", "runForecast");
  D.start();
})();
