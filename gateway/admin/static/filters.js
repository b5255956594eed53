// A list's search box and filters, one control per filter parameter of the list operation,
// typed by its schema; applying them changes the list's query (and so its address).

import { h, uniqueId } from "./dom.js";
import { fieldOf, limitsOf } from "./fields.js";
import { PAGE_SIZES } from "./display.js";
import { enumOf, filtersOf } from "./reading.js";

export function filterForm(doc, op, state, apply) {
  const controls = [];
  const add = (name, control, label, hint) => {
    control.id = uniqueId(`filter-${name}`);
    control.name = name;
    controls.push(control);
    return h(
      "div",
      { class: `field${name === "q" ? " search" : ""}` },
      h("label", { for: control.id }, label),
      control,
      hint ? h("p", { class: "hint" }, hint) : null,
    );
  };
  const search = (p) => (p.name === "q" ? 0 : 1);
  const parameters = filtersOf(op).sort((a, b) => search(a) - search(b));
  const parts = parameters.map((parameter) => {
    const field = fieldOf(doc, parameter.name, parameter.schema);
    const value = state.get(parameter.name) ?? "";
    const label = parameter.name === "q" ? "Search" : field.label;
    return add(
      parameter.name,
      controlFor(field, value),
      label,
      parameter.description || limitsOf(field),
    );
  });
  const sorts = enumOf(op, "sort");
  if (sorts.length) {
    const current = state.get("sort") ?? op.queryParameter("sort").schema.default ?? "";
    const select = h(
      "select",
      {},
      sorts.map((s) => h("option", { value: s }, sortLabel(s))),
    );
    select.value = current;
    parts.push(add("sort", select, "Sort by"));
  }
  const size = h(
    "select",
    {},
    PAGE_SIZES.map((n) => h("option", { value: String(n) }, String(n))),
  );
  size.value = state.get("limit") ?? String(PAGE_SIZES[0]);
  parts.push(add("limit", size, "Rows per page"));

  // The search box stays in sight; the rest folds away on a narrow screen unless in use.
  const searchPart = parameters[0]?.name === "q" ? parts.shift() : null;
  const active = parameters.filter((p) => p.name !== "q" && state.has(p.name)).length;
  const more = h(
    "details",
    { class: "more", open: active > 0 || window.matchMedia("(min-width: 721px)").matches },
    h("summary", {}, "Filters and sorting", active ? ` (${active} set)` : ""),
    h("div", { class: "filter-fields" }, parts),
  );
  const form = h(
    "form",
    { role: "search", class: "filters", novalidate: true },
    searchPart,
    more,
    h(
      "div",
      { class: "actions" },
      h("button", { type: "submit", class: "primary" }, "Apply"),
      h("button", { type: "reset", class: "secondary" }, "Clear"),
    ),
  );
  // Defaults are left out of the query, so the address says only what was chosen.
  const defaults = {
    limit: String(PAGE_SIZES[0]),
    sort: op.queryParameter("sort")?.schema.default ?? null,
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const control of controls) {
      if (control.value !== "" && control.value !== defaults[control.name])
        next.set(control.name, control.value);
    }
    apply(next);
  });
  form.addEventListener("reset", (event) => {
    event.preventDefault();
    apply(new URLSearchParams());
  });
  return form;
}

function controlFor(field, value) {
  if (field.kind === "boolean") {
    return selectOf(
      [
        ["", "any"],
        ["true", "yes"],
        ["false", "no"],
      ],
      value,
    );
  }
  if (field.kind === "enum") {
    return selectOf([["", "any"], ...field.values.map((v) => [String(v), String(v)])], value);
  }
  if (field.kind === "integer" || field.kind === "number") {
    return h("input", {
      type: "number",
      step: field.kind === "integer" ? "1" : "any",
      min: field.minimum,
      value,
    });
  }
  return h("input", {
    type: field.name === "q" ? "search" : "text",
    maxlength: field.maxLength,
    value,
  });
}

function selectOf(options, value) {
  const select = h(
    "select",
    {},
    options.map(([v, text]) => h("option", { value: v }, text)),
  );
  select.value = value;
  return select;
}

export function sortLabel(sort) {
  const name = sort.replace(/^-/, "").replaceAll("_", " ");
  return sort.startsWith("-") ? `${name}, descending` : `${name}, ascending`;
}
