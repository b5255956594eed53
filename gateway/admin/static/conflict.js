// "Changed since you opened it": after a 412, the current state read again, set beside
// what the form was opened with and the edit, with a way to re-apply the edit on the
// current state (If-Match with the new ETag) or to start over from it.

import { h } from "./dom.js";
import { text } from "./format.js";
import { writable, same } from "./values.js";

export async function showConflict(
  ctx,
  { into, op, read, params, fields, mine, before, saved, restart },
) {
  let now;
  try {
    now = await ctx.api.call(read, { params });
  } catch (error) {
    into.replaceChildren(
      h(
        "p",
        { class: "form-problem", role: "alert" },
        `It changed, and it could not be read again: ${error.message}`,
      ),
    );
    return;
  }
  const current = writable(fields, now.data);
  const shown = fields.filter((f) => f.name in mine || !same(before[f.name], current[f.name]));
  const reapply = h("button", { type: "button", class: "primary" }, "Re-apply my changes");
  const restartButton = h(
    "button",
    { type: "button", class: "secondary" },
    "Discard mine, edit the current values",
  );
  const panel = h(
    "section",
    { class: "conflict", role: "alert", tabindex: "-1", "aria-labelledby": "conflict-title" },
    h("h2", { id: "conflict-title" }, "Changed since you opened it"),
    h(
      "p",
      {},
      "Someone saved this after you opened the form, so your save was refused (412) and " +
        "nothing was overwritten. Here is what it holds now.",
    ),
    h(
      "div",
      { class: "table-wrap" },
      h(
        "table",
        { class: "items compact" },
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            ["Field", "When you opened it", "Now", "Your change"].map((t) =>
              h("th", { scope: "col" }, t),
            ),
          ),
        ),
        h(
          "tbody",
          {},
          shown.map((f) =>
            h(
              "tr",
              { "data-field": f.name },
              h("th", { scope: "row" }, f.label),
              h(
                "td",
                { "data-label": "When you opened it" },
                text(before[f.name], { type: f.kind }),
              ),
              h(
                "td",
                {
                  "data-label": "Now",
                  class: same(before[f.name], current[f.name]) ? "" : "changed",
                },
                text(current[f.name], { type: f.kind }),
              ),
              h(
                "td",
                { "data-label": "Your change" },
                f.name in mine ? text(mine[f.name], { type: f.kind }) : "—",
              ),
            ),
          ),
        ),
      ),
    ),
    h("div", { class: "actions" }, reapply, restartButton),
  );
  reapply.addEventListener("click", async () => {
    try {
      saved(await ctx.api.call(op, { params, body: mine, ifMatch: now.etag }), mine);
    } catch (error) {
      if (error.status === 412) {
        await showConflict(ctx, {
          into,
          op,
          read,
          params,
          fields,
          mine,
          before: current,
          saved,
          restart,
        });
      } else {
        into.append(h("p", { class: "form-problem", role: "alert" }, error.message));
      }
    }
  });
  restartButton.addEventListener("click", () => restart(now));
  into.replaceChildren(panel);
  panel.focus();
}
