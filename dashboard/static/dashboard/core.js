/* The dashboard's shared pieces: the GraphQL call, number and date formats, panels, charts with tables.
 * Every number on the pages comes from /graphql/ through `gql`; the page's own script (overview.js, ...)
 * registers its panels with `Dashboard.panel(name, loader)` and calls `Dashboard.start()`.
 * When every panel has settled and every chart has drawn, <body data-ready="true"> is set and
 * window.dashboardReadyAt holds performance.now() (the browser tests and bench/dashboard.py wait for it).
 */
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  // Okabe-Ito: distinguishable with every common colour-vision deficiency.
  const PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
  const LOCALE = "en-GB";
  const formats = {
    money: new Intl.NumberFormat(LOCALE, { style: "currency", currency: config.currency }),
    count: new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 0 }),
    decimal: new Intl.NumberFormat(LOCALE, { maximumFractionDigits: 2 }),
    percent: new Intl.NumberFormat(LOCALE, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }),
    signedPercent: new Intl.NumberFormat(LOCALE, {
      style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1, signDisplay: "exceptZero" }),
    // A GraphQL Date is already a shop-local day: shown as is (UTC in, UTC out, no shift).
    day: new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", day: "numeric", month: "short", year: "numeric" }),
    month: new Intl.DateTimeFormat(LOCALE, { timeZone: "UTC", month: "short", year: "numeric" }),
    // A DateTime is an instant: shown in the shop's time zone.
    instant: new Intl.DateTimeFormat(LOCALE, { timeZone: config.timeZone, dateStyle: "medium", timeStyle: "short" }),
  };
  const fmt = {
    money: (v) => (v === null || v === undefined ? "–" : formats.money.format(Number(v))),
    count: (v) => (v === null || v === undefined ? "–" : formats.count.format(Number(v))),
    decimal: (v) => (v === null || v === undefined ? "–" : formats.decimal.format(Number(v))),
    percent: (v) => (v === null || v === undefined ? "–" : formats.percent.format(Number(v))),
    change: (v) => (v === null || v === undefined ? "no earlier figure" : formats.signedPercent.format(v)),
    day: (iso) => formats.day.format(new Date(iso + "T00:00:00Z")),
    month: (iso) => formats.month.format(new Date(iso + "T00:00:00Z")),
    instant: (iso) => (iso ? formats.instant.format(new Date(iso)) : "–"),
  };

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  async function gql(query, variables) {
    const response = await fetch(config.graphqlUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ query: query, variables: variables || {} }),
    });
    if (!response.ok) throw new Error("The API answered " + response.status + ".");
    const body = await response.json();
    if (body.errors && body.errors.length) throw new Error(body.errors.map((e) => e.message).join(" "));
    return body.data;
  }

  // --- the URL's filters -----------------------------------------------------------------------------
  const params = new URLSearchParams(window.location.search);
  function filter(name, fallback) {
    const value = params.get(name);
    return value === null || value === "" ? fallback : value;
  }
  function bindInput(id, value) {
    const input = document.getElementById(id);
    if (input) input.value = value === null || value === undefined ? "" : value;
  }

  // --- DOM helpers ------------------------------------------------------------------------------------
  function el(tag, attributes, children) {
    const node = document.createElement(tag);
    Object.entries(attributes || {}).forEach(([key, value]) => {
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else node.setAttribute(key, value);
    });
    (children || []).forEach((child) => node.append(child));
    return node;
  }

  function table(spec) {
    const head = el("tr", {}, spec.columns.map((c) => el("th", { scope: "col", text: c })));
    const rows = spec.rows.map((row) => el("tr", {}, row.map((cell, i) =>
      el(i === 0 ? "th" : "td", { scope: i === 0 ? "row" : null, text: cell }))));
    return el("table", {}, [el("caption", { text: spec.caption }), el("thead", {}, [head]), el("tbody", {}, rows)]);
  }

  // --- charts -------------------------------------------------------------------------------------------
  const charts = [];
  let pendingCharts = 0;

  /* Draws `option` into the element with id `id`; `summary` is the chart's text alternative and `data`
   * the table behind its "Show as table" toggle ({caption, columns, rows} of display strings). */
  function chart(id, option, summary, data) {
    const node = document.getElementById(id);
    node.setAttribute("role", "img");
    node.setAttribute("aria-label", summary);
    const instance = echarts.init(node, null, { renderer: "canvas" });
    pendingCharts += 1;
    instance.on("finished", function onFinished() {
      instance.off("finished", onFinished);
      node.dataset.drawn = "true";
      pendingCharts -= 1;
      settle();
    });
    instance.setOption(Object.assign({ color: PALETTE, animation: false, aria: { enabled: true },
      textStyle: { fontFamily: "system-ui, sans-serif" } }, option));
    charts.push(instance);
    if (data) {
      const toggle = el("details", { class: "chart-table" }, [el("summary", { text: "Show as table" }), table(data)]);
      node.after(toggle);
    }
    return instance;
  }
  window.addEventListener("resize", () => charts.forEach((c) => c.resize()));

  // --- panels -------------------------------------------------------------------------------------------
  const loaders = [];
  let pendingPanels = 0;

  function panel(name, loader) {
    loaders.push([name, loader]);
  }

  function permitted(section) {
    const needs = section.dataset.needs;
    return !needs || config.permissions[needs] === true;
  }

  function markDenied(section) {
    const code = config.permissionCodes[section.dataset.needs];
    section.dataset.state = "denied";
    section.classList.add("denied");
    const body = section.querySelector(".panel-body, .actions") || section;
    body.replaceChildren(el("p", { class: "notice" }, [
      "Not permitted: your account lacks the permission ", el("code", { text: code }), ".",
    ]));
  }

  async function runPanel(name, loader) {
    const section = document.querySelector('[data-panel="' + name + '"]');
    section.dataset.state = "loading";
    section.setAttribute("aria-busy", "true");
    try {
      await loader(section);
      section.dataset.state = "ready";
    } catch (error) {
      section.dataset.state = "error";
      const body = section.querySelector(".panel-body") || section;
      body.replaceChildren(el("p", { class: "notice error", role: "alert", text: "Could not load: " + error.message }));
    } finally {
      section.removeAttribute("aria-busy");
      pendingPanels -= 1;
      settle();
    }
  }

  function settle() {
    if (pendingPanels > 0 || pendingCharts > 0 || document.body.dataset.ready === "true") return;
    window.dashboardReadyAt = performance.now();
    document.body.dataset.ready = "true";
    document.getElementById("status").textContent = "All panels loaded.";
  }

  function start() {
    document.querySelectorAll("[data-needs]").forEach((node) => { if (!permitted(node)) markDenied(node); });
    const runnable = loaders.filter(([name]) => {
      const section = document.querySelector('[data-panel="' + name + '"]');
      return section && section.dataset.state !== "denied";
    });
    pendingPanels = runnable.length;
    runnable.forEach(([name, loader]) => runPanel(name, loader));
    settle();
  }

  window.Dashboard = { config, fmt, gql, filter, bindInput, el, table, chart, panel, start, PALETTE,
                       permitted: (name) => config.permissions[name] === true };
})();
