// A fixed page of a resource (/users/me) and the forms of its actions (change password).
// An action that answers a new session (the password change ends every other one) hands
// it to the console's session, as sign-in does.

import { h, heading, replace } from "./dom.js";
import { fieldsOf, labelOf as titleOf } from "./fields.js";
import { text } from "./format.js";
import { SchemaForm } from "./form.js";
import { OnceKey } from "./keys.js";
import { announce } from "./status.js";

export async function pageView(ctx, view, resource, page) {
  const title = heading(page.name === "me" ? "Your account" : `${resource.title}: ${page.name}`);
  replace(view, title, h("p", { class: "loading" }, "Loading…"));
  let answer;
  try {
    answer = await ctx.api.call(page.read);
  } catch (error) {
    replace(view, title, h("p", { class: "form-problem", role: "alert" }, error.message));
    return title;
  }
  const rows = Object.entries(answer.data).map(([k, v]) => [
    h("dt", {}, titleOf(k)),
    h("dd", {}, text(v)),
  ]);
  replace(
    view,
    title,
    h("dl", { class: "properties" }, rows),
    page.actions.map((a) => actionForm(ctx, a)),
  );
  return title;
}

function actionForm(ctx, { name, op }) {
  const key = new OnceKey();
  const session = ctx.plan.session.login?.answer.schema;
  const form = new SchemaForm(ctx, fieldsOf(ctx.plan.doc, op.body), {
    submit: op.summary || titleOf(name),
    onSubmit: async (form) => {
      const body = form.read();
      if (!body) return;
      try {
        const answer = await ctx.api.call(op, { body, key: key.for(JSON.stringify(body)) });
        if (session && op.answer.schema === session) await ctx.session.adopt(answer.data);
        form.element.reset();
        announce(`${op.summary || titleOf(name)}: done.`);
      } catch (error) {
        form.showProblem(error);
      }
    },
  });
  form.element.dataset.operation = op.id;
  return h(
    "section",
    { class: "action" },
    h("h2", {}, op.summary || titleOf(name)),
    h("p", { class: "about" }, op.description),
    form.element,
  );
}
