// The /compare page: runs a scenario through POST /compare/run and draws what came back.
// No build step and no dependencies; every element is built with textContent (no HTML
// from data), and every figure shown comes from the server's measurements.
"use strict";

(() => {
  const catalogue = JSON.parse(document.getElementById("catalogue").textContent);
  const byName = new Map(catalogue.map((s) => [s.name, s]));
  const form = document.getElementById("run-form");
  const select = document.getElementById("scenario");
  const repeatInput = document.getElementById("repeat");
  const button = document.getElementById("run");
  const status = document.getElementById("status");
  const results = document.getElementById("results");
  const SVG = "http://www.w3.org/2000/svg";

  const METRICS = [
    { key: "requests", label: "Requests", unit: "", chart: true },
    { key: "request_bytes", label: "Bytes sent", unit: "bytes" },
    { key: "response_bytes", label: "Bytes received", unit: "bytes", chart: true },
    { key: "sql", label: "SQL statements", unit: "", chart: true },
    { key: "cache", label: "Cache (X-Cache)", unit: "cache" },
    { key: "server_ms", label: "Server time (all requests)", unit: "ms" },
    { key: "wall_ms", label: "Wall time", unit: "ms", chart: true },
    { key: "overfetch", label: "Over-fetch", unit: "share", chart: true },
  ];

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) {
      if (name === "class") node.className = value;
      else node.setAttribute(name, value);
    }
    for (const child of children) {
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs = {}, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function size(n) {
    if (n < 1000) return `${Math.round(n)} B`;
    if (n < 1e6) return `${(n / 1000).toFixed(1)} kB`;
    return `${(n / 1e6).toFixed(1)} MB`;
  }

  function readable(path) {
    // Shown decoded (`fields=id,name`); the bytes counted are the encoded ones sent.
    try { return decodeURIComponent(path); } catch { return path; }
  }

  function cacheText(cache) {
    const entries = Object.entries(cache);
    if (entries.length === 1) return entries[0][0];
    return entries.map(([outcome, n]) => `${n} ${outcome}`).join(", ");
  }

  function format(metric, value) {
    switch (metric.unit) {
      case "bytes": return size(value);
      case "ms": return `${value.toFixed(1)} ms`;
      case "share": return `${Math.round(value * 100)}%`;
      case "cache": return cacheText(value);
      default: return String(value);
    }
  }

  function describe() {
    const scenario = byName.get(select.value);
    document.getElementById("lesson").textContent = scenario.lesson;
    const needs = Object.entries(scenario.needs)
      .map(([entity, fields]) => `${entity}: ${fields.join(", ")}`)
      .join("; ");
    document.getElementById("needs").textContent =
      `Fields the client needs (the rest is over-fetch): ${needs}.` +
      (scenario.signed_in ? " Runs signed in as a demo customer." : "") +
      (scenario.writes ? " Writes, then undoes its writes after each run." : "");
  }

  function variantClass(variant) {
    return `v-${variant.variant.replace("_", "-")}${variant.pass === "warm" ? " warm" : ""}`;
  }

  function renderReading(data) {
    const list = document.getElementById("reading");
    list.replaceChildren(...data.reading.map((line) => el("li", {}, line)));
  }

  function renderTable(data) {
    const variants = data.variants;
    const head = el("tr", {}, el("th", { scope: "col" }, "Measure"),
      ...variants.map((v) => el("th", { scope: "col", class: variantClass(v) }, v.title)));
    const rows = METRICS.map((metric) => {
      const values = variants.map((v) => v.figures[metric.key]);
      const numeric = metric.unit !== "cache";
      const low = numeric ? Math.min(...values) : null;
      const cells = values.map((value) => {
        const text = format(metric, value);
        if (numeric && value === low && new Set(values).size > 1) {
          return el("td", { class: "best" }, el("strong", {}, text),
            el("span", { class: "visually-hidden" }, " (lowest)"));
        }
        return el("td", {}, text);
      });
      return el("tr", {}, el("th", { scope: "row" }, metric.label), ...cells);
    });
    const caption = el("caption", {},
      `Medians over ${data.repeat} run${data.repeat === 1 ? "" : "s"} per variant; lowest in bold.`);
    const table = el("table", { class: "figures" }, caption, el("thead", {}, head),
      el("tbody", {}, ...rows));
    document.getElementById("figures").replaceChildren(table);
  }

  function renderLegend(data) {
    const items = data.variants.map((v) =>
      el("li", {}, el("span", { class: `swatch ${variantClass(v)}`, "aria-hidden": "true" }), v.title));
    document.getElementById("legend").replaceChildren(el("ul", { "aria-label": "Legend" }, ...items));
  }

  function renderChart(data) {
    const metrics = METRICS.filter((m) => m.chart);
    const variants = data.variants;
    const container = document.getElementById("chart");
    // Drawn at the container's own width, so its text stays legible on a phone.
    const width = Math.round(Math.min(832, Math.max(300, container.clientWidth)));
    const labelWidth = width < 480 ? 110 : 150, valueWidth = 72;
    const bar = 16, gap = 4, groupGap = 22;
    const groupHeight = variants.length * (bar + gap) - gap;
    const height = metrics.length * (groupHeight + groupGap + 18);
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title chart-desc",
      class: "bars", preserveAspectRatio: "xMinYMin meet",
    });
    chart.append(svg("title", { id: "chart-title" }, "The figures as bars"));
    chart.append(svg("desc", { id: "chart-desc" },
      "One group of bars per measure, one bar per variant, longest for the highest value. " +
      "The table above holds the same numbers."));
    let y = 0;
    for (const metric of metrics) {
      const values = variants.map((v) => v.figures[metric.key]);
      const max = Math.max(...values) || 1;
      chart.append(svg("text", { x: 0, y: y + 13, class: "metric" }, metric.label));
      y += 18;
      variants.forEach((variant, i) => {
        const value = values[i];
        const span = width - labelWidth - valueWidth;
        const length = Math.max(value > 0 ? 2 : 0, (value / max) * span);
        const top = y + i * (bar + gap);
        chart.append(svg("text", { x: 8, y: top + bar - 4, class: "who" }, variant.title));
        chart.append(svg("rect", {
          x: labelWidth, y: top, width: length, height: bar, rx: 2,
          class: `bar ${variantClass(variant)}`,
        }));
        chart.append(svg("text", { x: labelWidth + length + 6, y: top + bar - 4, class: "value" },
          format(metric, value)));
      });
      y += groupHeight + groupGap;
    }
    container.replaceChildren(chart);
  }

  function renderWaterfalls(data) {
    const end = Math.max(1, ...data.variants.flatMap((v) =>
      v.calls.map((c) => c.start_ms + c.duration_ms)));
    const panels = data.variants.map((variant) => {
      const f = variant.figures;
      const summary = `${f.requests} request${f.requests === 1 ? "" : "s"} · ` +
        `${size(f.request_bytes + f.response_bytes)} · ${f.wall_ms.toFixed(1)} ms`;
      const calls = variant.calls.map((call) => {
        const what = `${call.method} ${readable(call.path)}` + (call.label ? ` (${call.label})` : "");
        const track = el("div", { class: "track", "aria-hidden": "true" });
        const barEl = el("div", { class: `span ${variantClass(variant)}` });
        barEl.style.left = `${(call.start_ms / end) * 100}%`;
        barEl.style.width = `${Math.max(0.5, (call.duration_ms / end) * 100)}%`;
        track.append(barEl);
        const facts = `${call.status} · ${size(call.response_bytes)} · ${call.duration_ms.toFixed(1)} ms` +
          ` · ${call.sql} SQL · ${call.cache}`;
        return el("li", { class: call.status >= 400 ? "call failed" : "call" },
          el("span", { class: "what" }, what), el("span", { class: "facts" }, facts), track);
      });
      return el("section", { class: `panel ${variantClass(variant)}` },
        el("h3", {}, variant.title), el("p", { class: "summary" }, summary),
        el("ol", { class: "calls" }, ...calls));
    });
    const scale = el("p", { class: "scale" }, `Time scale: 0 to ${end.toFixed(1)} ms, the same for every panel.`);
    document.getElementById("waterfalls").replaceChildren(scale, ...panels);
  }

  function renderDocuments(data) {
    const graph = data.variants.find((v) => v.variant === "graphql");
    const blocks = data.scenario.graphql.flatMap((doc, i) => {
      const variables = graph && graph.variables[i] ? JSON.stringify(graph.variables[i], null, 2) : "{}";
      return [
        el("pre", { class: "code", tabindex: "0", "aria-label": `GraphQL document ${i + 1}` },
          el("code", {}, doc)),
        el("pre", { class: "code vars", tabindex: "0", "aria-label": `Variables of document ${i + 1}` },
          el("code", {}, `variables: ${variables}`)),
      ];
    });
    document.getElementById("documents").replaceChildren(...blocks);
  }

  async function run(event) {
    event.preventDefault();
    const scenario = select.value;
    const repeat = Number(repeatInput.value) || 1;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    status.className = "";
    status.textContent = `Running “${byName.get(scenario).title}”, ${repeat} time${repeat === 1 ? "" : "s"} per variant…`;
    const started = performance.now();
    try {
      const response = await fetch(form.dataset.runUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ scenario, repeat }),
      });
      const body = await response.json();
      if (!response.ok) {
        const why = (body.errors && body.errors.map((e) => `${e.field}: ${e.message}`).join("; ")) || body.detail;
        throw new Error(why || `HTTP ${response.status}`);
      }
      const data = body.data;
      results.hidden = false; // first, so the chart can measure the width it has
      renderReading(data);
      renderTable(data);
      renderLegend(data);
      renderChart(data);
      renderWaterfalls(data);
      renderDocuments(data);
      const calls = data.variants.reduce((n, v) => n + v.runs.reduce((m, r) => m + r.requests, 0), 0);
      status.textContent = `Done: ${calls} requests measured in ${((performance.now() - started) / 1000).toFixed(1)} s.`;
      document.getElementById("reading-title").focus();
    } catch (error) {
      status.className = "error";
      status.textContent = `Could not run the scenario: ${error.message}`;
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  select.addEventListener("change", describe);
  form.addEventListener("submit", run);
  describe();
})();
