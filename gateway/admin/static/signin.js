// Signing in, with the fields of the sign-in operation's own request schema. A customer
// account is told plainly that the console is for admins only.

import { h, heading, replace } from "./dom.js";
import { fieldsOf } from "./fields.js";
import { SchemaForm } from "./form.js";
import { AdminsOnly } from "./session.js";

export function signInView(ctx, view, message, then) {
  const title = heading("Sign in");
  const refusal = h("div", { class: "refusal", role: "alert", tabindex: "-1", hidden: true });
  const login = ctx.plan.session.login;
  const form = new SchemaForm(ctx, fieldsOf(ctx.plan.doc, login.body), {
    submit: "Sign in",
    onSubmit: async (form) => {
      const body = form.read();
      if (!body) return;
      refusal.hidden = true;
      try {
        await ctx.session.signIn(body.email ?? "", body.password ?? "");
        then();
      } catch (error) {
        if (error instanceof AdminsOnly) {
          replace(
            refusal,
            h("h2", {}, "Admins only"),
            h("p", {}, error.message),
            h("p", {}, "You have been signed out of the console. Sign in with an admin account."),
          );
          refusal.hidden = false;
          refusal.focus();
        } else {
          form.showProblem(error);
        }
      }
    },
  });
  form.element.dataset.operation = login.id;
  for (const input of form.element.querySelectorAll("input")) {
    if (input.type === "email") input.autocomplete = "username";
  }
  replace(
    view,
    title,
    h(
      "p",
      { class: "about" },
      "The console calls the REST API as you. Sign in with an admin account; the token " +
        "stays in this tab's memory only.",
    ),
    message ? h("p", { class: "notice", role: "status" }, message) : null,
    refusal,
    form.element,
  );
  return title;
}
