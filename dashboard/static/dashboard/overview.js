/* Overview: KPIs against the previous period, sales with the served forecast, funnel, top products,
 * category share, new vs returning customers and cohort retention, for the URL's filters. */
(function () {
  "use strict";
  const D = window.Dashboard;
  const fmt = D.fmt;
  const from = D.filter("from", D.config.defaultFrom);
  const to = D.filter("to", D.config.defaultTo);
  const categoryId = D.filter("category", null);
  const interval = D.filter("interval", "DAY");
  const measure = D.filter("measure", "UNITS");
  const period = { from: from, to: to };
  [["f-from", from], ["f-to", to], ["f-interval", interval], ["f-measure", measure]].forEach(
    ([id, value]) => D.bindInput(id, value));

  D.gql("{ categories { id name parent { name } } }").then((data) => {
    const select = document.getElementById("f-category");
    data.categories.forEach((c) => select.append(D.el("option", {
      value: c.id, text: c.parent ? c.parent.name + " › " + c.name : c.name })));
    select.value = categoryId || "";
  });

  const KPIS = [
    ["revenue", "Revenue", fmt.money], ["orders", "Orders", fmt.count], ["units", "Units", fmt.count],
    ["customers", "Customers", fmt.count], ["averageOrderValue", "Average order value", fmt.money],
    ["conversionRate", "Conversion rate", fmt.percent],
  ];

  function change(current, previous) {
    if (current === null || previous === null || Number(previous) === 0) return null;
    return (Number(current) - Number(previous)) / Number(previous);
  }

  D.panel("kpis", async () => {
    const fields = KPIS.map(([name]) => name).join(" ");
    const data = await D.gql(`query ($from: Date!, $to: Date!, $categoryId: ID) {
      salesSummary(from: $from, to: $to, categoryId: $categoryId) {
        ${fields} previousFrom previousTo previous { ${fields} } } }`, Object.assign({ categoryId }, period));
    const summary = data.salesSummary;
    document.getElementById("kpi-period").textContent =
      fmt.day(from) + " – " + fmt.day(to) + ", against " + fmt.day(summary.previousFrom) + " – " + fmt.day(summary.previousTo);
    document.getElementById("kpis").replaceChildren(...KPIS.map(([name, label, format]) => {
      const delta = change(summary[name], summary.previous[name]);
      const direction = delta === null ? "flat" : delta > 0 ? "up" : delta < 0 ? "down" : "flat";
      return D.el("div", { class: "kpi", dataset: { kpi: name } }, [
        D.el("span", { class: "kpi-label", text: label }),
        D.el("span", { class: "kpi-value", text: format(summary[name]) }),
        D.el("span", { class: "kpi-change " + direction, text: (direction === "up" ? "▲ " : direction === "down" ? "▼ " : "")
          + fmt.change(delta) + " vs previous (" + format(summary.previous[name]) + ")" }),
      ]);
    }));
  });

  D.panel("sales", async (section) => {
    const key = measure === "REVENUE" ? "revenue" : "units";
    const format = key === "revenue" ? fmt.money : fmt.count;
    const data = await D.gql(`query ($from: Date!, $to: Date!, $interval: Interval!, $categoryId: ID) {
      salesSeries(from: $from, to: $to, interval: $interval, categoryId: $categoryId) { dates ${key} } }`,
      Object.assign({ interval, categoryId }, period));
    const series = data.salesSeries;
    let forecast = null;
    let note = "";
    if (interval !== "DAY") note = "The forecast is daily: choose the Day interval to see it.";
    else if (!D.permitted("forecast")) note = "Forecast not permitted: your account lacks " + D.config.permissionCodes.forecast + ".";
    else {
      const answer = await D.gql(`query ($categoryId: ID, $measure: ForecastMeasure!) {
        forecast(categoryId: $categoryId, measure: $measure) { model level points { date value lower upper } } }`,
        { categoryId, measure });
      forecast = answer.forecast;
      if (!forecast) note = "No served forecast for this measure and scope (run one on the Models page).";
    }
    const points = forecast ? forecast.points : [];
    const dates = series.dates.concat(points.map((p) => p.date).filter((d) => d > series.dates[series.dates.length - 1]));
    const ahead = new Map(points.map((p) => [p.date, p]));
    const pad = (values) => dates.map((d) => values(d));
    const actual = new Map(series.dates.map((d, i) => [d, Number(series[key][i])]));
    const option = {
      tooltip: { trigger: "axis", valueFormatter: (v) => (v === null || v === undefined ? "–" : format(v)) },
      legend: { top: 0 },
      grid: { left: 64, right: 24, top: 36, bottom: 40 },
      xAxis: { type: "category", data: dates, axisLabel: { formatter: (d) => fmt.day(d) } },
      yAxis: { type: "value", axisLabel: { formatter: (v) => format(v) } },
      series: [{ name: key === "revenue" ? "Revenue" : "Units", type: "line", showSymbol: false,
                 data: pad((d) => (actual.has(d) ? actual.get(d) : null)) }],
    };
    if (forecast) {
      option.series.push(
        { name: "Band low", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 },
          data: pad((d) => (ahead.has(d) ? ahead.get(d).lower : null)), tooltip: { show: false } },
        { name: forecast.level + "% interval", type: "line", stack: "band", symbol: "none", lineStyle: { opacity: 0 },
          areaStyle: { color: "#56B4E9", opacity: 0.35 },
          data: pad((d) => (ahead.has(d) ? ahead.get(d).upper - ahead.get(d).lower : null)) },
        { name: "Forecast (" + forecast.model + ")", type: "line", showSymbol: false, lineStyle: { type: "dashed" },
          data: pad((d) => (ahead.has(d) ? ahead.get(d).value : null)) });
      option.legend.data = [option.series[0].name, option.series[2].name, option.series[3].name];
    }
    if (note) section.querySelector(".panel-body").prepend(D.el("p", { class: "notice", text: note }));
    const rows = series.dates.map((d, i) => [fmt.day(d), format(series[key][i]), "", ""])
      .concat(points.map((p) => [fmt.day(p.date), "", format(p.value), format(p.lower) + " – " + format(p.upper)]));
    D.chart("chart-sales", option, `${option.series[0].name} per ${interval.toLowerCase()} from ${fmt.day(from)} to ` +
      `${fmt.day(to)}${forecast ? ", with the forecast for the next " + points.length + " days" : ""}.`,
      { caption: "Sales and forecast", columns: ["Date", "Actual", "Forecast", "Interval"], rows: rows });
  });

  D.panel("funnel", async (section) => {
    const data = await D.gql(`query ($from: Date!, $to: Date!, $categoryId: ID) {
      funnel(from: $from, to: $to, categoryId: $categoryId) {
        views addToCarts purchases viewToCartRate cartToPurchaseRate viewToPurchaseRate } }`,
      Object.assign({ categoryId }, period));
    const f = data.funnel;
    const steps = [["views", "Views", f.views], ["addToCarts", "Add to cart", f.addToCarts], ["purchases", "Purchases", f.purchases]];
    const rates = [["viewToCartRate", "View → cart", f.viewToCartRate], ["cartToPurchaseRate", "Cart → purchase", f.cartToPurchaseRate],
                   ["viewToPurchaseRate", "View → purchase", f.viewToPurchaseRate]];
    section.querySelector(".panel-body").prepend(D.el("dl", { class: "figures" }, steps.concat(rates).flatMap(
      ([name, label, value]) => [D.el("dt", { text: label }),
        D.el("dd", { dataset: { funnel: name }, text: name.endsWith("Rate") ? fmt.percent(value) : fmt.count(value) })])));
    D.chart("chart-funnel", {
      tooltip: { trigger: "item", valueFormatter: fmt.count },
      series: [{ type: "funnel", sort: "none", minSize: "8%", left: "10%", width: "80%",
                 label: { formatter: (p) => p.name + ": " + fmt.count(p.value) },
                 data: steps.map(([, label, value]) => ({ name: label, value: value })) }],
    }, "Funnel: " + steps.map(([, label, v]) => label + " " + fmt.count(v)).join(", ") + ".",
    { caption: "Funnel", columns: ["Step", "Count"], rows: steps.map(([, l, v]) => [l, fmt.count(v)])
      .concat(rates.map(([, l, v]) => [l, fmt.percent(v)])) });
  });

  D.panel("top", async () => {
    const data = await D.gql(`query ($from: Date!, $to: Date!) {
      topProducts(from: $from, to: $to, by: REVENUE, first: 10) { sku name revenue units } }`, period);
    const top = data.topProducts.slice().reverse();
    D.chart("chart-top", {
      tooltip: { trigger: "axis", valueFormatter: fmt.money },
      grid: { left: 160, right: 24, top: 8, bottom: 32 },
      xAxis: { type: "value", axisLabel: { formatter: fmt.money } },
      yAxis: { type: "category", data: top.map((p) => p.name), axisLabel: { width: 150, overflow: "truncate" } },
      series: [{ name: "Revenue", type: "bar", data: top.map((p) => Number(p.revenue)) }],
    }, "Top " + top.length + " products by revenue; first: " + (data.topProducts[0] ? data.topProducts[0].name : "none") + ".",
    { caption: "Top products", columns: ["Product", "SKU", "Revenue", "Units"],
      rows: data.topProducts.map((p) => [p.name, p.sku, fmt.money(p.revenue), fmt.count(p.units)]) });
  });

  D.panel("share", async () => {
    const data = await D.gql(`query ($from: Date!, $to: Date!, $parentId: ID) {
      categoryShare(from: $from, to: $to, parentId: $parentId) { totalRevenue categories { name revenue share } } }`,
      Object.assign({ parentId: categoryId }, period));
    const rows = data.categoryShare.categories.filter((c) => Number(c.revenue) > 0);
    D.chart("chart-share", {
      tooltip: { trigger: "item", formatter: (p) => p.name + ": " + fmt.money(p.value) + " (" + fmt.percent(p.percent / 100) + ")" },
      series: [{ type: "pie", radius: ["40%", "70%"], label: { formatter: (p) => p.name + " " + fmt.percent(p.percent / 100) },
                 data: rows.map((c) => ({ name: c.name, value: Number(c.revenue) })) }],
    }, "Share of " + fmt.money(data.categoryShare.totalRevenue) + " revenue across " + rows.length + " categories.",
    { caption: "Category share", columns: ["Category", "Revenue", "Share"],
      rows: data.categoryShare.categories.map((c) => [c.name, fmt.money(c.revenue), fmt.percent(c.share)]) });
  });

  D.panel("customers", async () => {
    const data = await D.gql(`query ($from: Date!, $to: Date!, $interval: Interval!, $categoryId: ID) {
      newVsReturningCustomers(from: $from, to: $to, interval: $interval, categoryId: $categoryId) {
        dates new returning totalNew totalReturning } }`, Object.assign({ interval: interval === "DAY" ? "WEEK" : interval, categoryId }, period));
    const n = data.newVsReturningCustomers;
    D.chart("chart-customers", {
      tooltip: { trigger: "axis", valueFormatter: fmt.count }, legend: { top: 0 },
      grid: { left: 48, right: 16, top: 36, bottom: 40 },
      xAxis: { type: "category", data: n.dates, axisLabel: { formatter: (d) => fmt.day(d) } },
      yAxis: { type: "value" },
      series: [{ name: "New", type: "bar", stack: "c", data: n.new }, { name: "Returning", type: "bar", stack: "c", data: n.returning }],
    }, "New customers " + fmt.count(n.totalNew) + ", returning " + fmt.count(n.totalReturning) + ".",
    { caption: "New and returning customers", columns: ["Period from", "New", "Returning"],
      rows: n.dates.map((d, i) => [fmt.day(d), fmt.count(n.new[i]), fmt.count(n.returning[i])]) });
  });

  D.panel("cohorts", async () => {
    const data = await D.gql(`query ($from: Date!, $to: Date!) {
      cohortRetention(from: $from, to: $to) { cohortMonths sizes rates } }`, period);
    const c = data.cohortRetention;
    const width = Math.max(0, ...c.rates.map((r) => r.length));
    const cells = [];
    c.rates.forEach((row, i) => row.forEach((rate, j) => { if (j > 0) cells.push([j, i, rate]); }));
    const labels = c.cohortMonths.map((m, i) => fmt.month(m) + " (" + fmt.count(c.sizes[i]) + ")");
    D.chart("chart-cohorts", {
      tooltip: { formatter: (p) => labels[p.value[1]] + ", month +" + p.value[0] + ": " + fmt.percent(p.value[2]) },
      grid: { left: 140, right: 24, top: 8, bottom: 72 },
      xAxis: { type: "category", name: "Months after the first purchase", nameLocation: "middle", nameGap: 28,
               data: Array.from({ length: Math.max(0, width - 1) }, (_, j) => "+" + (j + 1)) },
      yAxis: { type: "category", data: labels, inverse: true },
      visualMap: { min: 0, max: Math.max(0.01, ...cells.map((x) => x[2])), calculable: false, orient: "horizontal",
                   left: "center", bottom: 0, inRange: { color: ["#f7fbff", "#56B4E9", "#0072B2"] },
                   formatter: (v) => fmt.percent(v) },
      series: [{ type: "heatmap", data: cells.map(([j, i, r]) => [j - 1, i, r]),
                 label: { show: width <= 13, formatter: (p) => Math.round(p.value[2] * 100) } }],
    }, c.cohortMonths.length + " monthly cohorts; the share of each buying again in later months.",
    { caption: "Cohort retention", columns: ["Cohort (size)"].concat(Array.from({ length: Math.max(0, width - 1) }, (_, j) => "+" + (j + 1))),
      rows: c.rates.map((row, i) => [labels[i]].concat(row.slice(1).map(fmt.percent))) });
  });

  D.start();
})();
