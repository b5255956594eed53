// An edit (PATCH: only the fields changed) or replace (PUT: all of them) form, prefilled
// from a plain read whose ETag goes back in If-Match when the operation takes it. A 412
// shows what changed meanwhile and offers to re-apply the edit on the current state.

import { h, heading, replace } from "./dom.js";
import { fieldsOf } from "./fields.js";
import { SchemaForm } from "./form.js";
import { href, go } from "./router.js";
import { announce } from "./status.js";
import { singular } from "./detail.js";
import { writable, changes } from "./values.js";
import { showConflict } from "./conflict.js";
import { text } from "./format.js";

export async function editView(ctx, view, resource, id, role) {
  const op = resource.item[role];
  const { read, parameter } = resource.item;
  const params = { [parameter]: id };
  const verb = role === "replace" ? "Replace" : "Edit";
  const title = heading(`${verb} ${singular(resource).toLowerCase()} #${id}`);
  const back = href([resource.name, id]);
  const crumbs = h(
    "nav",
    { class: "crumbs", "aria-label": "Breadcrumb" },
    h("a", { href: href([resource.name]) }, resource.title),
    " › ",
    h("a", { href: back }, `#${id}`),
  );
  replace(view, crumbs, title, h("p", { class: "loading" }, "Loading…"));
  let answer;
  try {
    answer = await ctx.api.call(read, { params });
  } catch (error) {
    replace(view, crumbs, title, h("p", { class: "form-problem", role: "alert" }, error.message));
    return title;
  }
  const fields = fieldsOf(ctx.plan.doc, op.body);
  const conflicts = h("div", { class: "conflicts" });

  // What the answer says of each field sent (a role change answers the whole account).
  const saved = (result, body) => {
    const said = Object.keys(body).map(
      (name) => `${name} ${text(result?.data?.[name] ?? body[name])}`,
    );
    announce(`Saved ${singular(resource).toLowerCase()} #${id}: ${said.join(", ")}.`);
    go([resource.name, result?.data?.id ?? id]);
  };

  const render = (data, etag) => {
    const values = writable(fields, data);
    const form = new SchemaForm(ctx, fields, {
      values,
      self: resource.name,
      editing: true,
      submit: "Save",
      extra: [h("a", { href: back, class: "button secondary" }, "Cancel")],
      onSubmit: async (form) => {
        const entered = form.read();
        if (!entered) return;
        const body = role === "update" ? changes(entered, values) : entered;
        if (Object.keys(body).length === 0) {
          form.showProblem({
            title: "Nothing to save:",
            message: "no field differs from what was read.",
          });
          return;
        }
        try {
          saved(await ctx.api.call(op, { params, body, ifMatch: etag }), body);
        } catch (error) {
          if (error.status !== 412) return form.showProblem(error);
          await showConflict(ctx, {
            into: conflicts,
            op,
            read,
            params,
            fields,
            mine: body,
            before: values,
            saved,
            restart: (fresh) => render(fresh.data, fresh.etag),
          });
        }
      },
    });
    form.element.dataset.operation = op.id;
    form.element.dataset.etag = etag ?? "";
    const note = op.conditional
      ? "Saving sends the ETag read when this form opened (If-Match): if anyone changes " +
        "this meanwhile, nothing is overwritten and you are shown what changed."
      : "This operation does not take If-Match: saving overwrites whatever is there now.";
    conflicts.replaceChildren();
    replace(
      view,
      crumbs,
      title,
      h("p", { class: "about" }, op.summary, ". ", note),
      conflicts,
      form.element,
    );
    title.focus();
  };
  render(answer.data, answer.etag);
  return title;
}
