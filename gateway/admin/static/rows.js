// A list of objects (an order's lines): a group of widgets per row, rows added and removed
// with buttons; each sub-field's path is "items.0.quantity", as the API names it in errors.

import { h } from "./dom.js";
import { frame, widgetFor } from "./widgets.js";

export function rows(ctx, field, { path, value, self }) {
  const list = h("ol", { class: "rows" });
  const framed = frame(field, list, { path, group: true });
  let entries = [];
  const add = h("button", { type: "button", class: "secondary" }, "Add a row");

  const renumber = () => {
    entries.forEach((entry, index) => {
      entry.index = index;
      for (const w of entry.widgets) w.path = `${path}.${index}.${w.name}`;
    });
  };
  const addRow = (initial = {}) => {
    const widgets = field.fields.map((sub) => {
      const w = widgetFor(ctx, sub, { path: "", value: initial[sub.name], self });
      w.name = sub.name;
      return w;
    });
    const remove = h("button", { type: "button", class: "secondary small" }, "Remove row");
    const item = h(
      "li",
      { class: "row" },
      widgets.map((w) => w.element),
      remove,
    );
    const entry = { widgets, item, index: entries.length };
    remove.addEventListener("click", () => {
      entries = entries.filter((e) => e !== entry);
      item.remove();
      renumber();
      add.focus();
    });
    entries.push(entry);
    list.append(item);
    renumber();
    return entry;
  };
  add.addEventListener("click", () => addRow().widgets[0]?.focus());
  framed.element.append(add);
  for (const initial of value ?? [{}]) addRow(initial);

  return {
    path,
    element: framed.element,
    error: framed.error,
    focus: () => entries[0]?.widgets[0]?.focus(),
    // The row widgets, so errors about "items.0.quantity" find their field.
    children: () => entries.flatMap((e) => e.widgets),
    set(next) {
      for (const e of entries) e.item.remove();
      entries = [];
      for (const initial of next ?? []) addRow(initial);
    },
    read() {
      const found = [];
      for (const entry of entries) {
        const row = {};
        for (const w of entry.widgets) {
          const { value: v, problem } = w.read();
          if (problem) return { problem: `row ${entry.index + 1}: ${problem}` };
          if (v !== undefined) row[w.name] = v;
        }
        if (Object.keys(row).length) found.push(row);
      }
      return { value: found.length ? found : undefined };
    },
  };
}
