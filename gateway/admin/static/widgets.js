// One input per field, chosen by the field's kind: its label, required mark, hint with the
// API's limits, and a slot for the API's message about it.
//
// A widget is {element, path, read(), set(value), focus(), error(message)}; read() gives
// {value} (undefined when left empty) or {problem} when the browser cannot parse the input.

import { h, uniqueId } from "./dom.js";
import { limitsOf } from "./fields.js";
import { choices, referenceOf } from "./references.js";
import { rows } from "./rows.js";

export function widgetFor(ctx, field, options) {
  const reference = referenceOf(ctx.plan, field, options.self);
  if (reference && field.kind === "list") return checkList(ctx, field, reference, options);
  if (reference && field.kind === "integer") return picker(ctx, field, reference, options);
  if (field.kind === "rows") return rows(ctx, field, options);
  return plain(field, options);
}

// The frame every widget shares: label, control, hint, error.
export function frame(field, control, { path, group = false, limits = true }) {
  const id = control.id || uniqueId("f");
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const hint = [field.description, limits ? limitsOf(field) : ""].filter(Boolean).join(" ");
  const mark = field.required ? h("span", { class: "required", title: "required" }, " *") : null;
  const error = h("p", { class: "error", id: errorId, hidden: true });
  const described = [hint ? hintId : null, errorId].filter(Boolean).join(" ");
  let element;
  if (group) {
    control.setAttribute("aria-describedby", described);
    element = h(
      "fieldset",
      { class: "field group", "data-field": path },
      h("legend", {}, field.label, mark),
      control,
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      error,
    );
  } else {
    control.id = id;
    control.setAttribute("aria-describedby", described);
    if (field.required) control.setAttribute("aria-required", "true");
    element = h(
      "div",
      { class: "field", "data-field": path },
      h("label", { for: id }, field.label, mark),
      control,
      hint ? h("p", { class: "hint", id: hintId }, hint) : null,
      error,
    );
  }
  return {
    element,
    error(message) {
      error.textContent = message ?? "";
      error.hidden = !message;
      const target = group ? element : control;
      if (message) target.setAttribute("aria-invalid", "true");
      else target.removeAttribute("aria-invalid");
    },
  };
}

function plain(field, { path, value, editing }) {
  const control = controlFor(field, editing, value);
  const framed = frame(field, control, { path });
  const widget = {
    path,
    element: framed.element,
    error: framed.error,
    focus: () => control.focus(),
    set(next) {
      if (field.kind === "boolean") control.checked = Boolean(next);
      else if (field.kind === "list") control.value = Array.isArray(next) ? next.join(", ") : "";
      else if (field.kind === "enum" && next === null) control.value = "";
      else control.value = next === undefined || next === null ? "" : String(next);
    },
    read() {
      return readControl(field, control, editing);
    },
  };
  if (field.kind === "enum" && field.transitions) limitToTransitions(field, control, value, framed);
  widget.set(value ?? (editing ? undefined : field.fallback));
  return widget;
}

function controlFor(field, editing, value) {
  switch (field.kind) {
    case "boolean":
      return h("input", { type: "checkbox" });
    case "integer":
    case "number":
      return h("input", {
        type: "number",
        inputmode: field.kind === "integer" ? "numeric" : "decimal",
        step: field.kind === "integer" ? "1" : "any",
        min: field.minimum,
        max: field.maximum !== null && field.maximum < 2 ** 53 ? field.maximum : null,
      });
    case "enum": {
      const known = editing && value !== undefined && value !== null;
      const blank = !field.required || !known ? [h("option", { value: "" }, "— choose —")] : [];
      return h(
        "select",
        {},
        blank,
        field.values.map((v) => h("option", { value: String(v) }, String(v))),
      );
    }
    case "longtext":
      return h("textarea", { rows: 4, maxlength: field.maxLength, minlength: field.minLength });
    default:
      return h("input", {
        type:
          field.name === "email" ? "email" : field.name.includes("password") ? "password" : "text",
        maxlength: field.maxLength,
        minlength: field.minLength,
        pattern: field.pattern ?? null,
        autocomplete: !field.name.includes("password")
          ? "off"
          : field.name.startsWith("new")
            ? "new-password"
            : "current-password",
      });
  }
}

function readControl(field, control, editing) {
  switch (field.kind) {
    case "boolean":
      return { value: control.checked };
    case "integer":
    case "number":
      if (control.validity.badInput) return { problem: "must be a number" };
      return { value: control.value === "" ? undefined : Number(control.value) };
    case "enum":
      return {
        value:
          control.value === "" ? undefined : field.values.find((v) => String(v) === control.value),
      };
    case "list": {
      const items = control.value
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
      const numeric = ["integer", "number"].includes(field.item.kind);
      if (numeric && items.some((s) => Number.isNaN(Number(s))))
        return { problem: "must be numbers, separated by commas" };
      return {
        value: items.length || editing ? items.map((s) => (numeric ? Number(s) : s)) : undefined,
      };
    }
    default:
      return { value: control.value === "" && !editing ? undefined : control.value };
  }
}

// A status field with `x-transitions`: only the current value and the moves allowed from it.
function limitToTransitions(field, control, current, framed) {
  if (current === undefined || current === null) return;
  const allowed = new Set([current, ...(field.transitions[current] ?? [])]);
  for (const option of [...control.options])
    if (option.value && !allowed.has(option.value)) option.remove();
  if (allowed.size === 1) {
    control.disabled = true;
    framed.element.append(h("p", { class: "hint" }, `No move is allowed from ${current}.`));
  }
}

// One id of another resource, chosen by name from its list (an id box when it has over 100).
function picker(ctx, field, reference, { path, value }) {
  const control = h(
    "select",
    {},
    h("option", { value: "" }, field.nullable ? "— none —" : "— choose —"),
  );
  let box = null;
  const framed = frame(field, control, { path, limits: false });
  const current = () => (value === undefined || value === null ? "" : String(value));
  const placeholder = (id) => h("option", { value: id }, `#${id}`);
  if (current()) control.append(placeholder(current()));
  control.value = current();
  choices(ctx, reference).then(({ items, complete }) => {
    if (!complete) {
      box = h("input", { type: "number", min: 1, step: 1, value: current() });
      box.id = control.id;
      box.setAttribute("aria-describedby", control.getAttribute("aria-describedby"));
      control.replaceWith(box);
      return;
    }
    const chosen = control.value;
    control.replaceChildren(
      control.firstChild,
      ...items.map((i) => h("option", { value: String(i.id) }, i.label)),
    );
    if (chosen && !items.some((i) => String(i.id) === chosen)) control.append(placeholder(chosen));
    control.value = chosen;
  });
  return {
    path,
    element: framed.element,
    error: framed.error,
    focus: () => (box ?? control).focus(),
    set(next) {
      (box ?? control).value = next === null || next === undefined ? "" : String(next);
    },
    read() {
      const raw = (box ?? control).value;
      if (raw === "") return { value: field.nullable ? null : undefined };
      return { value: Number(raw) };
    },
  };
}

// Several ids of another resource (tag_ids): a checkbox per choice.
function checkList(ctx, field, reference, { path, value }) {
  const selected = new Set((value ?? []).map(String));
  const box = h(
    "div",
    { class: "checks", role: "group" },
    h("p", { class: "hint" }, "Loading choices…"),
  );
  const framed = frame(field, box, { path, group: true });
  let inputs = [];
  let text = null;
  choices(ctx, reference).then(({ items, complete }) => {
    if (!complete) {
      text = h("input", {
        type: "text",
        value: [...selected].join(", "),
        "aria-label": `${field.label} (ids, comma-separated)`,
      });
      box.replaceChildren(text);
      return;
    }
    inputs = items.map((item) => {
      const input = h("input", {
        type: "checkbox",
        value: String(item.id),
        checked: selected.has(String(item.id)),
      });
      return h("label", { class: "check" }, input, " ", item.label);
    });
    box.replaceChildren(...inputs);
  });
  return {
    path,
    element: framed.element,
    error: framed.error,
    focus: () => (text ?? box.querySelector("input"))?.focus(),
    set(next) {
      const ids = new Set((next ?? []).map(String));
      for (const label of inputs) label.firstChild.checked = ids.has(label.firstChild.value);
    },
    read() {
      if (text) {
        const ids = text.value
          .split(",")
          .map((s) => s.trim())
          .filter(Boolean)
          .map(Number);
        return ids.some(Number.isNaN)
          ? { problem: "must be ids separated by commas" }
          : { value: ids };
      }
      if (inputs.length === 0)
        return { value: value === undefined ? undefined : [...selected].map(Number) };
      return {
        value: inputs.filter((l) => l.firstChild.checked).map((l) => Number(l.firstChild.value)),
      };
    },
  };
}
