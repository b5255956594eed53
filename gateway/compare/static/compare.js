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
  const customBox = document.getElementById("custom");
  const customFields = {
    graphql: document.getElementById("custom-graphql"),
    rest: document.getElementById("custom-rest"),
    variables: document.getElementById("custom-variables"),
  };
  const SVG = "http://www.w3.org/2000/svg";
  const CUSTOM = "custom";
  let current = null; // the scenario entry of the last run
  let exported = []; // object URLs of the downloads, revoked when replaced

  const METRICS = [
    { key: "requests", label: "Requests", unit: "", chart: true },
    { key: "round_trips", label: "Round trips in a row", unit: "" },
    { key: "from_cache", label: "Answers from the client's cache", unit: "", optional: true },
    { key: "request_bytes", label: "Bytes sent", unit: "bytes" },
    { key: "response_bytes", label: "Bytes received", unit: "bytes", chart: true },
    { key: "sql", label: "SQL statements", unit: "", chart: true },
    { key: "db_ms", label: "Database time", unit: "ms" },
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
    // As report.size: switch units where the rounded figure would reach the next one.
    if (n < 999.5) return `${Math.round(n)} B`;
    if (n < 999950) return `${(n / 1000).toFixed(1)} kB`;
    return `${(n / 1e6).toFixed(1)} MB`;
  }

  function ms(value) {
    return value < 100 ? `${value.toFixed(1)} ms` : `${Math.round(value).toLocaleString("en")} ms`;
  }

  function plural(n, word) {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
  }

  function readable(path) {
    // Shown decoded (`fields=id,name`); the bytes counted are the encoded ones sent.
    try { return decodeURIComponent(path.replace(/\+/g, " ")); } catch { return path; }
  }

  function cacheText(cache) {
    const entries = Object.entries(cache);
    if (entries.length === 0) return "-"; // no request at all
    if (entries.length === 1) return entries[0][0];
    return entries.map(([outcome, n]) => `${n} ${outcome}`).join(", ");
  }

  function format(metric, value) {
    switch (metric.unit) {
      case "bytes": return size(value);
      case "ms": return ms(value);
      case "share": return `${Math.round(value * 100)}%`;
      case "cache": return cacheText(value);
      default: return String(value);
    }
  }

  // -- the form ---------------------------------------------------------------------------

  function chosenNetworks() {
    return [...form.querySelectorAll('input[name="network"]:checked')].map((i) => i.value);
  }

  function chosenCache() {
    return form.querySelector('input[name="cache"]:checked').value;
  }

  function describe() {
    const custom = select.value === CUSTOM;
    customBox.hidden = !custom;
    const scenario = byName.get(select.value);
    const own = Boolean(scenario && scenario.own_cache_modes);
    for (const radio of form.querySelectorAll('input[name="cache"]')) radio.disabled = own;
    document.getElementById("cache-note").hidden = !own;
    const lesson = document.getElementById("lesson");
    const needs = document.getElementById("needs");
    if (custom) {
      lesson.textContent = "Your own scenario: a GraphQL query against the REST requests a " +
        "client would make for the same data, run and measured like the others.";
      needs.textContent = "The fields the query selects are what the client needs; the rest " +
        "of what either style sends is over-fetch. Read-only: GET requests and queries.";
      return;
    }
    lesson.textContent = scenario.lesson;
    const fields = Object.entries(scenario.needs)
      .map(([entity, names]) => `${entity}: ${names.join(", ")}`)
      .join("; ");
    needs.textContent =
      `Fields the client needs (the rest is over-fetch): ${fields}.` +
      (scenario.signed_in ? " Runs signed in as a demo customer." : "") +
      (scenario.writes ? " Writes, then undoes its writes after each run." : "");
  }

  function request() {
    const body = {
      scenario: select.value,
      repeat: Number(repeatInput.value) || 1,
      networks: chosenNetworks(),
      cache: chosenCache(),
    };
    if (body.scenario === CUSTOM) {
      let variables = {};
      const text = customFields.variables.value.trim();
      if (text) {
        try { variables = JSON.parse(text); } catch (error) {
          throw new FieldProblem("custom.variables", `not JSON: ${error.message}`);
        }
        if (typeof variables !== "object" || variables === null || Array.isArray(variables)) {
          throw new FieldProblem("custom.variables", "must be a JSON object");
        }
      }
      body.custom = { graphql: customFields.graphql.value, rest: customFields.rest.value, variables };
    }
    return body;
  }

  class FieldProblem extends Error {
    constructor(field, message) { super(message); this.field = field; }
  }

  function clearProblems() {
    for (const [name, field] of Object.entries(customFields)) {
      field.removeAttribute("aria-invalid");
      document.getElementById(`custom-${name}-error`).textContent = "";
    }
  }

  function showProblems(errors) {
    // Problems with your own scenario go next to the field they are about.
    let first = null;
    const rest = [];
    for (const { field, message } of errors) {
      const name = field.startsWith("custom.") ? field.slice(7) : null;
      if (name && customFields[name]) {
        customFields[name].setAttribute("aria-invalid", "true");
        const slot = document.getElementById(`custom-${name}-error`);
        slot.textContent = slot.textContent ? `${slot.textContent} ${message}` : message;
        first = first || customFields[name];
      } else {
        rest.push(`${field}: ${message}`);
      }
    }
    if (first) first.focus();
    return rest;
  }

  function fillFrom(params) {
    // A shared link: the scenario and options of a run, as `entry.link` wrote them.
    const scenario = params.get("scenario");
    if (!scenario || !(byName.has(scenario) || scenario === CUSTOM)) return false;
    select.value = scenario;
    const networks = (params.get("network") || "loopback").split(",");
    for (const box of form.querySelectorAll('input[name="network"]')) {
      box.checked = networks.includes(box.value);
    }
    const cache = form.querySelector(`input[name="cache"][value="${params.get("cache") === "warm" ? "warm" : "cold"}"]`);
    cache.checked = true;
    const repeat = Number(params.get("repeat"));
    if (repeat >= 1 && repeat <= 10) repeatInput.value = String(repeat);
    if (scenario === CUSTOM) {
      customFields.graphql.value = params.get("graphql") || "";
      customFields.rest.value = params.get("rest") || "";
      customFields.variables.value = params.get("variables") || "";
    }
    describe();
    return true;
  }

  // -- the results ------------------------------------------------------------------------

  function variantClass(variant) {
    // Passes after the first (warm, a revisit) are striped: they differ by more than colour.
    const later = current && current.scenario.passes.indexOf(variant.pass) > 0;
    return `v-${variant.variant.replace("_", "-")}${later ? " warm" : ""}`;
  }

  function renderReading(profile) {
    const list = document.getElementById("reading");
    list.replaceChildren(...profile.reading.map((line) => el("li", {}, line)));
  }

  function lowest(cells, values) {
    const low = Math.min(...values);
    return cells.map((text, i) => {
      if (values[i] === low && new Set(values).size > 1) {
        return el("td", { class: "best" }, el("strong", {}, text),
          el("span", { class: "visually-hidden" }, " (lowest)"));
      }
      return el("td", {}, text);
    });
  }

  function renderProfiles(entry) {
    const profiles = entry.profiles;
    const head = el("tr", {}, el("th", { scope: "col" }, "Variant"),
      ...profiles.map((p) => el("th", { scope: "col" }, p.network.label)));
    const rows = profiles[0].variants.map((variant, row) => {
      const cells = profiles.map((p) => {
        const f = p.variants[row].figures;
        return { text: `${ms(f.wall_ms)} (${f.round_trips})`, value: f.wall_ms };
      });
      return el("tr", { class: "wall" }, el("th", { scope: "row", class: variantClass(variant) }, variant.title),
        ...cells.map((c) => el("td", {}, c.text)));
    });
    // The fastest variant on each network in bold.
    profiles.forEach((p, column) => {
      const values = p.variants.map((v) => v.figures.wall_ms);
      const low = Math.min(...values);
      values.forEach((value, row) => {
        if (value === low && values.length > 1) {
          const cell = rows[row].children[column + 1];
          const text = cell.textContent;
          cell.replaceChildren(el("strong", {}, text), el("span", { class: "visually-hidden" }, " (fastest)"));
          cell.className = "best";
        }
      });
    });
    const caption = el("caption", {}, `Wall time (round trips in a row), medians over ${plural(entry.options.repeat, "run")}; ` +
      `gateway cache ${entry.options.cache}${entry.scenario.own_cache_modes ? " and warm, per pass" : ""}; fastest in bold.`);
    const table = el("table", { class: "figures profiles" }, caption, el("thead", {}, head), el("tbody", {}, ...rows));
    document.getElementById("profiles").replaceChildren(table);
  }

  function renderSwitch(entry, shown) {
    const options = entry.profiles.map((p, i) => {
      const input = el("input", { type: "radio", name: "profile", value: String(i), id: `profile-${p.network.name}` });
      input.checked = i === shown;
      input.addEventListener("change", () => showProfile(i));
      return el("label", { class: "choice", for: `profile-${p.network.name}` }, input, ` ${p.network.label}`);
    });
    document.getElementById("profile-options").replaceChildren(...options);
    document.getElementById("profile-switch").hidden = entry.profiles.length < 2;
  }

  function renderTable(profile) {
    const variants = profile.variants;
    const head = el("tr", {}, el("th", { scope: "col" }, "Measure"),
      ...variants.map((v) => el("th", { scope: "col", class: variantClass(v) }, v.title)));
    // A measure that is 0 everywhere and only sometimes matters is left out.
    const shown = METRICS.filter((m) => !m.optional || variants.some((v) => v.figures[m.key]));
    const rows = shown.map((metric) => {
      const values = variants.map((v) => v.figures[metric.key]);
      const texts = values.map((value) => format(metric, value));
      const cells = metric.unit === "cache" ? texts.map((t) => el("td", {}, t)) : lowest(texts, values);
      return el("tr", {}, el("th", { scope: "row" }, metric.label), ...cells);
    });
    const caption = el("caption", {},
      `${profile.network.label}, cache ${profile.cache}: medians over ${plural(profile.repeat, "run")} per variant; lowest in bold.`);
    const table = el("table", { class: "figures", id: "figures-table" }, caption, el("thead", {}, head),
      el("tbody", {}, ...rows));
    document.getElementById("figures").replaceChildren(table);
  }

  function renderLegend(profile) {
    const items = profile.variants.map((v) =>
      el("li", {}, el("span", { class: `swatch ${variantClass(v)}`, "aria-hidden": "true" }), v.title));
    document.getElementById("legend").replaceChildren(el("ul", { "aria-label": "Legend" }, ...items));
  }

  function renderChart(profile) {
    const metrics = METRICS.filter((m) => m.chart);
    const variants = profile.variants;
    const container = document.getElementById("chart");
    // Drawn at the container's own width, so its text stays legible on a phone.
    const width = Math.round(Math.min(832, Math.max(300, container.clientWidth)));
    const labelWidth = width < 480 ? 120 : 160, valueWidth = 72;
    const bar = 16, gap = 4, groupGap = 22;
    const groupHeight = variants.length * (bar + gap) - gap;
    const height = metrics.length * (groupHeight + groupGap + 18);
    const chart = svg("svg", {
      viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": "chart-title chart-desc",
      class: "bars", preserveAspectRatio: "xMinYMin meet",
    });
    chart.append(svg("title", { id: "chart-title" }, `The figures as bars (${profile.network.label})`));
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

  function statementsOf(call) {
    if (call.statements === null) {
      return el("p", { class: "sql-none" }, `${plural(call.sql, "SQL statement")} (not recorded)`);
    }
    if (call.statements.length === 0) {
      return el("p", { class: "sql-none" }, "No SQL: " + (call.cache === "HIT" ? "served from the cache" : "none needed"));
    }
    const items = call.statements.map((s) =>
      el("li", {}, el("span", { class: "sql-name" }, s.name),
        el("pre", { class: "code sql", tabindex: "0", "aria-label": `SQL of ${s.name}` }, el("code", {}, s.sql))));
    const more = call.statements_omitted ? [el("li", {}, `and ${call.statements_omitted} more`)] : [];
    return el("details", { class: "sql" },
      el("summary", {}, `${plural(call.statements.length + call.statements_omitted, "SQL statement")}: ` +
        call.statements.map((s) => s.name).join(", ")),
      el("ol", {}, ...items, ...more));
  }

  function renderWaterfalls(profile) {
    const end = Math.max(1, ...profile.variants.flatMap((v) =>
      v.calls.map((c) => c.start_ms + c.duration_ms)));
    const rtt = profile.network.rtt_ms;
    const panels = profile.variants.map((variant) => {
      const f = variant.figures;
      const summary = `${plural(f.requests, "request")} · ${plural(f.round_trips, "round trip")} in a row · ` +
        `${size(f.request_bytes + f.response_bytes)} · ${ms(f.wall_ms)}`;
      const calls = variant.calls.map((call) => {
        const what = `${call.method} ${readable(call.path)}` + (call.label ? ` (${call.label})` : "");
        const track = el("div", { class: "track", "aria-hidden": "true" });
        if (rtt > 0) {
          // One tick per round trip of the network, so the stacking shows.
          track.style.backgroundSize = `${(rtt / end) * 100}% 100%`;
          track.classList.add("ticks");
        }
        const barEl = el("div", { class: `span ${variantClass(variant)}` });
        barEl.style.left = `${(call.start_ms / end) * 100}%`;
        barEl.style.width = `${Math.max(0.5, (call.duration_ms / end) * 100)}%`;
        track.append(barEl);
        const facts = `${call.status} · ${size(call.response_bytes)} received · starts ${ms(call.start_ms)}, ` +
          `takes ${ms(call.duration_ms)} · ${plural(call.sql, "SQL statement")} · ${call.cache}`;
        return el("li", { class: call.status >= 400 ? "call failed" : "call" },
          el("span", { class: "what" }, what), el("span", { class: "facts" }, facts), track, statementsOf(call));
      });
      if (f.from_cache) {
        calls.push(el("li", { class: "call" }, `${plural(f.from_cache, "answer")} fresh in the client's own cache: no request.`));
      }
      return el("section", { class: `panel ${variantClass(variant)}` },
        el("h3", {}, variant.title), el("p", { class: "summary" }, summary),
        el("ol", { class: "calls" }, ...calls));
    });
    const ticks = rtt > 0 ? ` Ticks mark each ${rtt} ms round trip of ${profile.network.title}.` : "";
    const scale = el("p", { class: "scale" }, `Time scale: 0 to ${ms(end)}, the same for every panel.${ticks}`);
    document.getElementById("waterfalls").replaceChildren(scale, ...panels);
  }

  function renderDocuments(entry, profile) {
    const graph = profile.variants.find((v) => v.variant === "graphql");
    const blocks = entry.scenario.graphql.flatMap((doc, i) => {
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

  function download(id, text, type) {
    const url = URL.createObjectURL(new Blob([text], { type }));
    exported.push(url);
    document.getElementById(id).href = url;
  }

  function renderKeep(data, entry) {
    for (const url of exported) URL.revokeObjectURL(url);
    exported = [];
    document.getElementById("share-link").href = entry.link;
    download("export-json", JSON.stringify(data, null, 2), "application/json");
    download("export-csv", data.csv, "text/csv");
    document.getElementById("command").textContent = entry.command;
  }

  function showProfile(i) {
    const profile = current.profiles[i];
    renderReading(profile);
    renderTable(profile);
    renderLegend(profile);
    renderChart(profile);
    renderWaterfalls(profile);
    renderDocuments(current, profile);
  }

  async function run(event) {
    if (event) event.preventDefault();
    clearProblems();
    let body;
    try {
      body = request();
    } catch (error) {
      if (error instanceof FieldProblem) {
        showProblems([{ field: error.field, message: error.message }]);
        status.className = "error";
        status.textContent = "Could not run the scenario: see the field marked above.";
        return;
      }
      throw error;
    }
    if (body.networks.length === 0) {
      status.className = "error";
      status.textContent = "Choose at least one network.";
      document.querySelector('input[name="network"]').focus();
      return;
    }
    const title = body.scenario === CUSTOM ? "your own scenario" : `“${byName.get(body.scenario).title}”`;
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    status.className = "";
    status.textContent = `Running ${title}, ${plural(body.repeat, "time")} per variant, on ${plural(body.networks.length, "network")}…`;
    const started = performance.now();
    try {
      const response = await fetch(form.dataset.runUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json();
      if (!response.ok) {
        const rest = answer.errors ? showProblems(answer.errors) : [];
        const why = answer.errors ? (rest.join("; ") || "see the fields marked above") : answer.detail;
        throw new Error(why || `HTTP ${response.status}`);
      }
      const data = answer.data;
      current = data.scenarios[0];
      results.hidden = false; // first, so the chart can measure the width it has
      const shown = current.profiles.length - 1; // the slowest network chosen
      renderProfiles(current);
      renderSwitch(current, shown);
      showProfile(shown);
      renderKeep(data, current);
      history.replaceState(null, "", current.link);
      const calls = current.profiles.reduce((n, p) =>
        n + p.variants.reduce((m, v) => m + v.runs.reduce((k, r) => k + r.requests, 0), 0), 0);
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
  if (fillFrom(new URLSearchParams(location.search))) run();
})();
