// A form generated from a request schema: one widget per field, the values it holds, and
// the API's problem+json shown where it belongs (each `errors[]` entry next to its field).
//
// The browser's own validation is off (novalidate): the API is the judge, and its messages
// are the ones shown. The submit button is never disabled while a request runs: a double
// click sends the same Idempotency-Key twice and the API creates one thing.

import { h, replace } from "./dom.js";
import { widgetFor } from "./widgets.js";

export class SchemaForm {
  constructor(
    ctx,
    fields,
    { values = {}, self = null, editing = false, submit = "Save", onSubmit, extra = [] },
  ) {
    this.widgets = fields.map((field) =>
      widgetFor(ctx, field, { path: field.name, value: values[field.name], self, editing }),
    );
    this.summary = h("div", { class: "form-problem", role: "alert", tabindex: "-1", hidden: true });
    this.button = h("button", { type: "submit", class: "primary" }, submit);
    const legend = fields.some((f) => f.required)
      ? h(
          "p",
          { class: "legend" },
          "Fields marked ",
          h("span", { class: "required" }, "*"),
          " are required.",
        )
      : null;
    this.element = h(
      "form",
      { novalidate: true, class: "schema-form" },
      this.summary,
      legend,
      this.widgets.map((w) => w.element),
      h("div", { class: "actions" }, this.button, extra),
    );
    this.element.addEventListener("submit", async (event) => {
      event.preventDefault();
      this.element.setAttribute("aria-busy", "true");
      try {
        await onSubmit(this);
      } finally {
        this.element.removeAttribute("aria-busy");
      }
    });
  }

  // The values entered ({name: value}, empty fields left out), or null after showing
  // what the browser could not parse. Messages already shown stay until the answer comes:
  // the form keeps its layout, so a double click lands on the same button twice.
  read() {
    const values = {};
    const problems = [];
    for (const widget of this.widgets) {
      const { value, problem } = widget.read();
      if (problem) problems.push({ field: widget.path, message: problem });
      else if (value !== undefined) values[widget.path] = value;
    }
    if (problems.length) {
      this.showErrors(problems, "Some fields need another look.");
      return null;
    }
    return values;
  }

  clear() {
    this.summary.hidden = true;
    this.summary.replaceChildren();
    for (const widget of this.#all()) widget.error(null);
  }

  // `errors` as problem+json lists them ({field: "items.0.quantity", message}).
  showErrors(errors, title = "The API refused this.") {
    this.clear();
    const loose = [];
    let first = null;
    for (const { field, message } of errors) {
      const widget = this.#find(field);
      if (widget) {
        widget.error(message);
        first ??= widget;
      } else loose.push(field ? `${field}: ${message}` : message);
    }
    replace(
      this.summary,
      h("p", {}, h("strong", {}, title), first ? " See the fields marked below." : ""),
      loose.length
        ? h(
            "ul",
            {},
            loose.map((m) => h("li", {}, m)),
          )
        : null,
    );
    this.summary.hidden = false;
    (first ?? { focus: () => this.summary.focus() }).focus();
  }

  // Anything else the API said (409, 403, 429...): title, detail, code and request id.
  showProblem(error) {
    this.clear();
    if (error.errors?.length) {
      this.showErrors(error.errors, error.message);
      return;
    }
    replace(
      this.summary,
      h("p", {}, h("strong", {}, error.title ?? "The request failed"), " ", error.message),
      h("p", { class: "hint" }, [
        error.code ? `Code ${error.code}` : null,
        error.retryAfter ? ` · retry after ${error.retryAfter} s` : null,
        error.requestId ? ` · request ${error.requestId}` : null,
      ]),
    );
    this.summary.hidden = false;
    this.summary.focus();
  }

  #all() {
    return this.widgets.flatMap((w) => [w, ...(w.children?.() ?? [])]);
  }

  // The widget at `path`, else the nearest one above it ("tag_ids.3" → tag_ids).
  #find(path) {
    const all = this.#all();
    for (let parts = path.split("."); parts.length; parts.pop()) {
      const found = all.find((w) => w.path === parts.join("."));
      if (found) return found;
    }
    return null;
  }
}
