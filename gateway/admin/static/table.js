// A page of items as a table: sortable column headers (buttons), a checkbox per row when
// rows can be selected, the first column linking to the item, and actions per row. On a
// narrow screen the stylesheet turns each row into a card labelled from data-label.

import { h } from "./dom.js";
import { labelOf, text } from "./format.js";

export function table({
  caption,
  columns,
  items,
  sort,
  onSort,
  selection,
  link,
  relationLink,
  actions,
}) {
  const head = h(
    "tr",
    {},
    selection ? h("th", { scope: "col", class: "select" }, selectAll(items, selection)) : null,
    columns.map((column) => header(column, sort, onSort)),
    actions ? h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Actions")) : null,
  );
  const rows = items.map((item) =>
    h(
      "tr",
      {},
      selection ? h("td", { class: "select" }, selectOne(item, selection)) : null,
      columns.map((column, index) =>
        h(
          "td",
          { "data-label": column.label },
          cell(item, column, index === 1 || columns.length === 1 ? link : null, relationLink),
        ),
      ),
      actions ? h("td", { class: "row-actions" }, actions(item)) : null,
    ),
  );
  if (items.length === 0) {
    const span = columns.length + (selection ? 1 : 0) + (actions ? 1 : 0);
    rows.push(h("tr", {}, h("td", { colspan: span, class: "empty" }, "Nothing matches.")));
  }
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      { class: "items" },
      h("caption", { class: "visually-hidden" }, caption),
      h("thead", {}, head),
      h("tbody", {}, rows),
    ),
  );
}

function header(column, sort, onSort) {
  if (!column.sortable || !onSort) return h("th", { scope: "col" }, column.label);
  const ascending = sort === column.name;
  const descending = sort === `-${column.name}`;
  const next = ascending ? `-${column.name}` : column.name;
  const state = ascending ? "ascending" : descending ? "descending" : "none";
  const arrow = ascending ? " ▲" : descending ? " ▼" : "";
  return h(
    "th",
    { scope: "col", "aria-sort": state },
    h(
      "button",
      {
        type: "button",
        class: "sort",
        onclick: () => onSort(next),
        title: `Sort by ${column.label.toLowerCase()}${ascending ? ", descending" : ""}`,
      },
      column.label,
      h("span", { "aria-hidden": "true" }, arrow),
    ),
  );
}

function cell(item, column, link, relationLink) {
  const value = item[column.name];
  if (column.relation && value && typeof value === "object") {
    const target = relationLink?.(column, value);
    return target ? h("a", { href: target }, labelOf(value)) : labelOf(value);
  }
  const shown = text(value, column.schema);
  return link ? h("a", { href: link(item) }, column.name === "id" ? `#${shown}` : shown) : shown;
}

function selectAll(items, selection) {
  const box = h("input", { type: "checkbox", "aria-label": "Select every row on this page" });
  const sync = () => {
    const chosen = items.filter((i) => selection.has(i.id)).length;
    box.checked = items.length > 0 && chosen === items.length;
    box.indeterminate = chosen > 0 && chosen < items.length;
  };
  box.addEventListener("change", () => {
    for (const item of items) box.checked ? selection.add(item.id) : selection.delete(item.id);
    selection.changed();
  });
  selection.listen(sync);
  sync();
  return box;
}

function selectOne(item, selection) {
  const box = h("input", {
    type: "checkbox",
    "aria-label": `Select ${labelOf(item)}`,
    value: String(item.id),
  });
  box.checked = selection.has(item.id);
  box.addEventListener("change", () => {
    box.checked ? selection.add(item.id) : selection.delete(item.id);
    selection.changed();
  });
  selection.listen(() => (box.checked = selection.has(item.id)));
  return box;
}

// The ids picked on a list, with listeners told of every change.
export class Selection extends Set {
  #listeners = [];

  listen(callback) {
    this.#listeners.push(callback);
  }

  changed() {
    for (const callback of this.#listeners) callback();
  }
}
