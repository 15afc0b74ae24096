/* Campaigns: the chosen campaign (the newest by default), its groups, the conversion and revenue-per-member
 * lifts with their 95 % intervals (plain and CUPED), and the daily treatment/control series. */
(function () {
  "use strict";
  const D = window.Dashboard;
  const fmt = D.fmt;
  const chosen = D.filter("campaign", null);
  const GROUPS = ["TREATMENT", "CONTROL"];

  async function campaignId() {
    const data = await D.gql("{ campaigns(first: 50) { edges { node { id pk name status } } } }");
    const list = data.campaigns.edges.map((e) => e.node);
    const select = document.getElementById("f-campaign");
    list.forEach((c) => select.append(D.el("option", { value: String(c.pk), text: c.name + " (" + c.status.toLowerCase() + ")" })));
    select.value = chosen || "";
    if (chosen) return chosen;
    if (!list.length) throw new Error("no campaign yet (createCampaign in the API).");
    return String(list[0].pk);
  }

  // One campaign and its results feed every panel; a user without the view permission never asks.
  const loaded = !D.permitted("campaigns") ? Promise.resolve(null) : campaignId().then((id) => D.gql(`query ($id: ID!) {
      campaign(id: $id) { pk name status goal offer picks picksFrom holdoutShare startsAt endsAt launchedAt
                          membersCount treatmentExportUrl }
      campaignResults(id: $id) { updatedAt srmPValue srmFlagged incrementalRevenue
        groups { group members converters conversionRate orders revenue revenuePerMember }
        conversionLift { absolute relative low high pValue }
        revenueLift { absolute relative low high pValue }
        cupedRevenueLift { absolute relative low high pValue varianceReduction }
        picksHitRate { treatment control }
        daily { date treatmentRevenue controlRevenue treatmentConverters controlConverters } } }`, { id }));

  async function answer() {
    const data = await loaded;
    if (!data.campaign) throw new Error("no such campaign.");
    if (!data.campaignResults) throw new Error("no results yet: the campaign has not been launched and measured.");
    return data;
  }

  function group(results, name) {
    return results.groups.find((g) => g.group === name) || null;
  }

  D.panel("campaign", async () => {
    const { campaign: c, campaignResults: r } = await answer();
    const pValue = (v) => (v === null || v === undefined ? "–" : v < 0.001 ? "< 0.001" : v.toFixed(3));
    const rows = [["Name", c.name], ["Status", c.status], ["Goal", c.goal], ["Window", fmt.instant(c.startsAt) + " – " + fmt.instant(c.endsAt)],
      ["Members", fmt.count(c.membersCount)], ["Holdout", fmt.percent(c.holdoutShare)],
      ["Picks", c.picks + " per member (" + c.picksFrom.toLowerCase().replace("_", " ") + ")"], ["Offer", c.offer || "–"],
      ["Incremental revenue", fmt.money(r.incrementalRevenue)],
      ["Picks hit rate", "treatment " + fmt.percent(r.picksHitRate.treatment) + ", control " + fmt.percent(r.picksHitRate.control)],
      ["Sample ratio check", "p = " + pValue(r.srmPValue) + (r.srmFlagged ? " — MISMATCH: the split is not as planned" : " (as planned)")],
      ["Results updated", fmt.instant(r.updatedAt)]];
    document.getElementById("campaign").replaceChildren(D.el("dl", { class: "params" }, rows.flatMap(
      ([k, v]) => [D.el("dt", { text: k }), D.el("dd", { text: String(v) })])));
  });

  D.panel("groups", async (section) => {
    const r = (await answer()).campaignResults;
    const groups = GROUPS.map((name) => group(r, name)).filter(Boolean);
    section.querySelector(".panel-body").prepend(D.el("dl", { class: "figures" }, groups.flatMap((g) => [
      D.el("dt", { text: g.group === "TREATMENT" ? "Treatment" : "Control" }),
      D.el("dd", { dataset: { group: g.group }, text: fmt.count(g.members) + " members · " + fmt.percent(g.conversionRate) + " converted" }),
    ])));
    D.chart("chart-groups", {
      tooltip: { trigger: "axis" }, legend: { top: 0 },
      grid: { left: 64, right: 64, top: 36, bottom: 32 },
      xAxis: { type: "category", data: groups.map((g) => (g.group === "TREATMENT" ? "Treatment" : "Control")) },
      yAxis: [{ type: "value", name: "Conversion", axisLabel: { formatter: fmt.percent } },
              { type: "value", name: "Revenue per member", axisLabel: { formatter: fmt.money } }],
      series: [{ name: "Conversion rate", type: "bar", data: groups.map((g) => g.conversionRate), tooltip: { valueFormatter: fmt.percent } },
               { name: "Revenue per member", type: "bar", yAxisIndex: 1, data: groups.map((g) => g.revenuePerMember),
                 tooltip: { valueFormatter: fmt.money } }],
    }, groups.map((g) => g.group.toLowerCase() + ": " + fmt.percent(g.conversionRate) + " converted, " + fmt.money(g.revenuePerMember) + " per member").join("; ") + ".",
    { caption: "Groups", columns: ["Group", "Members", "Converters", "Conversion", "Orders", "Revenue", "Revenue per member"],
      rows: groups.map((g) => [g.group, fmt.count(g.members), fmt.count(g.converters), fmt.percent(g.conversionRate),
                               fmt.count(g.orders), fmt.money(g.revenue), fmt.money(g.revenuePerMember)]) });
  });

  D.panel("lift", async () => {
    const r = (await answer()).campaignResults;
    const control = group(r, "CONTROL");
    const lifts = [["Conversion", r.conversionLift, control && control.conversionRate, fmt.percent],
                   ["Revenue per member", r.revenueLift, control && control.revenuePerMember, fmt.money],
                   ["Revenue per member (CUPED)", r.cupedRevenueLift, control && control.revenuePerMember, fmt.money]]
      .filter(([, lift, base]) => lift && base);
    if (!lifts.length) {  // nothing to compare yet: said in the panel, which is not an error
      document.getElementById("chart-lift").replaceWith(D.el("p", { class: "notice",
        text: "No lift to show yet: the control group has no conversions or revenue in the window." }));
      return;
    }
    const rel = (v, base) => v / base;
    const rows = lifts.map(([label, lift, base]) => [label, rel(lift.absolute, base), rel(lift.low, base), rel(lift.high, base)]);
    D.chart("chart-lift", {
      tooltip: { trigger: "item", formatter: (p) => rows[p.value[0]][0] + ": " + fmt.change(rows[p.value[0]][1]) + " (95% CI " +
        fmt.change(rows[p.value[0]][2]) + " to " + fmt.change(rows[p.value[0]][3]) + ")" },
      grid: { left: 180, right: 32, top: 16, bottom: 40 },
      xAxis: { type: "value", axisLabel: { formatter: (v) => fmt.change(v) } },
      yAxis: { type: "category", data: rows.map((row) => row[0]), inverse: true },
      series: [
        { name: "95% interval", type: "custom", encode: { x: [1, 2], y: 0 }, data: rows.map((row, i) => [i, row[2], row[3]]),
          renderItem: (params, api) => {
            const low = api.coord([api.value(1), api.value(0)]);
            const high = api.coord([api.value(2), api.value(0)]);
            const style = { stroke: D.PALETTE[0], lineWidth: 2 };
            return { type: "group", children: [
              { type: "line", shape: { x1: low[0], y1: low[1], x2: high[0], y2: high[1] }, style },
              { type: "line", shape: { x1: low[0], y1: low[1] - 8, x2: low[0], y2: low[1] + 8 }, style },
              { type: "line", shape: { x1: high[0], y1: high[1] - 8, x2: high[0], y2: high[1] + 8 }, style }] };
          } },
        { name: "Estimate", type: "scatter", symbolSize: 12, data: rows.map((row, i) => [row[1], i]),
          markLine: { symbol: "none", silent: true, lineStyle: { type: "dashed", color: "#555" }, label: { formatter: "no effect" },
                      data: [{ xAxis: 0 }] } },
      ],
    }, rows.map((row) => row[0] + " " + fmt.change(row[1]) + " (95% CI " + fmt.change(row[2]) + " to " + fmt.change(row[3]) + ")").join("; ") + ".",
    { caption: "Lift (treatment minus control)", columns: ["Measure", "Absolute", "95% interval", "Relative", "p-value", "Variance reduction"],
      rows: lifts.map(([label, lift, , format]) => [label, format(lift.absolute), format(lift.low) + " to " + format(lift.high),
        fmt.change(lift.relative), lift.pValue < 0.001 ? "< 0.001" : lift.pValue.toFixed(3),
        lift.varianceReduction === undefined ? "" : fmt.percent(lift.varianceReduction)]) });
  });

  D.panel("daily", async () => {
    const r = (await answer()).campaignResults;
    const treated = group(r, "TREATMENT");
    const control = group(r, "CONTROL");
    const per = (value, g) => (g && g.members ? value / g.members : null);
    D.chart("chart-daily", {
      tooltip: { trigger: "axis", valueFormatter: fmt.money }, legend: { top: 0 },
      grid: { left: 64, right: 24, top: 36, bottom: 40 },
      xAxis: { type: "category", data: r.daily.map((d) => d.date), axisLabel: { formatter: (d) => fmt.day(d) } },
      yAxis: { type: "value", axisLabel: { formatter: fmt.money } },
      series: [{ name: "Treatment", type: "line", showSymbol: false, data: r.daily.map((d) => per(d.treatmentRevenue, treated)) },
               { name: "Control", type: "line", showSymbol: false, lineStyle: { type: "dashed" },
                 data: r.daily.map((d) => per(d.controlRevenue, control)) }],
    }, "Daily revenue per member over " + r.daily.length + " days, treatment (solid) against control (dashed).",
    { caption: "Daily results", columns: ["Date", "Treatment revenue", "Control revenue", "Treatment converters", "Control converters"],
      rows: r.daily.map((d) => [fmt.day(d.date), fmt.money(d.treatmentRevenue), fmt.money(d.controlRevenue),
                                fmt.count(d.treatmentConverters), fmt.count(d.controlConverters)]) });
  });

  D.panel("export", async () => {
    const c = (await answer()).campaign;
    document.getElementById("export").replaceChildren(c.treatmentExportUrl
      ? D.el("a", { href: c.treatmentExportUrl, download: "", text: "Download the treatment list of " + c.name })
      : D.el("p", { class: "notice", text: "The export is not available." }));
  });

  D.start();
})();
