// Changes to every selected row of a list: set, add to or scale one field (restock,
// reprice), or delete them. Each row is read, changed and written back with its own
// ETag in If-Match, one at a time, so a row someone else changed meanwhile is refused
// (412) and reported rather than overwritten.

import { h, uniqueId } from "./dom.js";
import { fieldsOf } from "./fields.js";
import { ask } from "./confirm.js";
import { announce } from "./status.js";

const MODES = {
  set: { label: "set to", apply: (_, v) => v },
  add: { label: "add", apply: (old, v) => old + v },
  percent: { label: "change by %", apply: (old, v) => old * (1 + v / 100) },
};

export function bulkBar(ctx, resource, selection, items, reload) {
  const update = resource.item.update;
  const editable = update
    ? fieldsOf(ctx.plan.doc, update.body).filter((f) => ["integer", "number"].includes(f.kind))
    : [];
  const count = h("p", { class: "selected", "aria-live": "polite" });
  const bar = h(
    "div",
    { class: "bulk", role: "region", "aria-label": "Change the selected rows", hidden: true },
    count,
  );
  if (editable.length) bar.append(changeForm(ctx, resource, editable, selection, reload));
  if (resource.item.remove) {
    bar.append(
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "data-operation": resource.item.remove.id,
          onclick: () => removeAll(ctx, resource, selection, reload),
        },
        "Delete selected",
      ),
    );
  }
  selection.listen(() => {
    bar.hidden = selection.size === 0;
    count.textContent = `${selection.size} selected`;
  });
  return bar;
}

function changeForm(ctx, resource, editable, selection, reload) {
  const ids = {
    field: uniqueId("bulk-field"),
    mode: uniqueId("bulk-mode"),
    value: uniqueId("bulk-value"),
  };
  const field = h(
    "select",
    { id: ids.field },
    editable.map((f) => h("option", { value: f.name }, f.label)),
  );
  const mode = h(
    "select",
    { id: ids.mode },
    Object.entries(MODES).map(([k, m]) => h("option", { value: k }, m.label)),
  );
  const value = h("input", { id: ids.value, type: "number", step: "any", required: true });
  const form = h(
    "form",
    { class: "bulk-change", novalidate: true, "data-operation": resource.item.update.id },
    h("label", { for: ids.field }, "Field"),
    field,
    h("label", { for: ids.mode }, "Change"),
    mode,
    h("label", { for: ids.value }, "Value"),
    value,
    h("button", { type: "submit", class: "primary" }, "Apply to selected"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (value.value === "" || value.validity.badInput) {
      announce("Enter a number to apply.", "error");
      value.focus();
      return;
    }
    const spec = editable.find((f) => f.name === field.value);
    await changeAll(ctx, resource, [...selection], spec, MODES[mode.value], Number(value.value));
    reload();
  });
  return form;
}

async function changeAll(ctx, resource, ids, field, mode, amount) {
  const { read, update, parameter } = resource.item;
  const failed = [];
  let done = 0;
  for (const id of ids) {
    const params = { [parameter]: id };
    try {
      const current = await ctx.api.call(read, { params });
      let next = mode.apply(Number(current.data[field.name] ?? 0), amount);
      // Integers stay whole; other numbers keep the two decimals prices have.
      next = field.kind === "integer" ? Math.round(next) : Math.round(next * 100) / 100;
      await ctx.api.call(update, { params, body: { [field.name]: next }, ifMatch: current.etag });
      done += 1;
      announce(`Updated ${done} of ${ids.length}…`);
    } catch (error) {
      failed.push(
        `#${id}: ${error.status === 412 ? "changed by someone else meanwhile" : error.message}`,
      );
    }
  }
  report(`Updated ${done} of ${ids.length}.`, failed);
}

async function removeAll(ctx, resource, selection, reload) {
  const ids = [...selection];
  if (
    !(await ask(
      `Delete ${ids.length} ${resource.name}?`,
      "Each is deleted through the API; this cannot be undone.",
    ))
  )
    return;
  const failed = [];
  let done = 0;
  for (const id of ids) {
    try {
      await ctx.api.call(resource.item.remove, { params: { [resource.item.parameter]: id } });
      done += 1;
    } catch (error) {
      failed.push(`#${id}: ${error.message}`);
    }
  }
  report(`Deleted ${done} of ${ids.length}.`, failed);
  reload();
}

function report(message, failed) {
  if (failed.length) announce(`${message} Not done: ${failed.join("; ")}`, "error");
  else announce(message);
}
