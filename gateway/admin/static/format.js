// Values as text: numbers with at most two decimals, dates in local time, null as a dash.

import { LABEL_PROPERTIES } from "./display.js";

const NUMBER = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
// Properties typed `number` (prices, totals, averages) carry two decimals.
const DECIMAL = new Intl.NumberFormat(undefined, {
  minimumFractionDigits: 2,
  maximumFractionDigits: 2,
});
const DATE = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d/;

export function text(value, schema = null) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (typeof value === "number") return (decimal(schema) ? DECIMAL : NUMBER).format(value);
  if (typeof value === "string" && ISO.test(value)) {
    const when = new Date(value);
    return Number.isNaN(when.getTime()) ? value : DATE.format(when);
  }
  if (Array.isArray(value)) return value.length ? value.map((v) => text(v)).join(", ") : "none";
  if (typeof value === "object") return labelOf(value);
  return String(value);
}

// What to call an item: its name (or title, slug...), else its id.
export function labelOf(item) {
  for (const name of LABEL_PROPERTIES) {
    if (item[name] !== undefined && item[name] !== null && item[name] !== "")
      return String(item[name]);
  }
  return item.id !== undefined ? `#${item.id}` : JSON.stringify(item);
}

function decimal(schema) {
  return (schema?.anyOf ?? [schema]).some((option) => option?.type === "number");
}
