// A create form (a POST with a body), generated from its request schema. Its Idempotency-
// Key is kept while the body stays the same, so a double click creates one thing; the
// answer's Location says where the new item lives, and the console goes there.

import { h, heading, replace } from "./dom.js";
import { fieldsOf } from "./fields.js";
import { SchemaForm } from "./form.js";
import { OnceKey } from "./keys.js";
import { go } from "./router.js";
import { routeOf } from "./plan.js";
import { announce } from "./status.js";
import { singular } from "./detail.js";

export function createView(ctx, view, { op, resource, params = {}, back }) {
  const name = singular(resource).toLowerCase();
  const title = heading(`New ${name}`);
  const key = new OnceKey();
  const form = new SchemaForm(ctx, fieldsOf(ctx.plan.doc, op.body), {
    self: resource.name,
    submit: `Create ${name}`,
    extra: [h("a", { href: back.href, class: "button secondary" }, "Cancel")],
    onSubmit: async (form) => {
      const body = form.read();
      if (!body) return;
      try {
        const answer = await ctx.api.call(op, { params, body, key: key.for(JSON.stringify(body)) });
        announce(
          answer.replayed
            ? `Created once: this is the first answer, replayed.`
            : `Created the ${name}.`,
        );
        const target =
          routeOf(ctx.plan, answer.location) ??
          (answer.data?.id !== undefined ? [resource.name, answer.data.id] : back.route);
        go(target);
      } catch (error) {
        form.showProblem(error);
      }
    },
  });
  form.element.dataset.operation = op.id;
  replace(
    view,
    h(
      "nav",
      { class: "crumbs", "aria-label": "Breadcrumb" },
      h("a", { href: back.href }, back.label),
    ),
    title,
    h("p", { class: "about" }, op.summary, ". ", op.description),
    form.element,
  );
  return title;
}
