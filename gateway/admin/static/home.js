// The start page: every resource with its size (one cheap read each: `limit=1&fields=id`
// with `count=exact`) and links to its list, its "New" form, or its look-up by id.

import { h, heading, replace } from "./dom.js";
import { href } from "./router.js";
import { singular } from "./detail.js";

export function homeView(ctx, view) {
  const title = heading("Site administration");
  const cards = [...ctx.plan.resources.values()]
    .filter((r) => r.collection.list || r.item.read)
    .sort((a, b) => Boolean(b.collection.list) - Boolean(a.collection.list))
    .map((r) => card(ctx, r));
  replace(
    view,
    title,
    h(
      "p",
      { class: "about" },
      "Everything here is read from /openapi.json and done through the REST API, as you: " +
        "the API's rules apply.",
    ),
    h("ul", { class: "cards" }, cards),
  );
  return title;
}

function card(ctx, resource) {
  const { list, create } = resource.collection;
  const size = h("p", { class: "size" }, list ? "…" : "Open one by id");
  if (list) {
    const query = { limit: 1 };
    if (list.queryParameter("count")) query.count = "exact";
    if (list.queryParameter("fields")) query.fields = ["id"];
    ctx.api
      .call(list, { query })
      .then(
        (answer) =>
          (size.textContent =
            answer.page?.total !== undefined ? `${answer.page.total} in all` : ""),
      )
      .catch((error) => (size.textContent = error.message));
  }
  return h(
    "li",
    { class: "card" },
    h("h2", {}, h("a", { href: href([resource.name]) }, resource.title)),
    size,
    h(
      "p",
      { class: "links" },
      h("a", { href: href([resource.name]) }, list ? "Browse" : "Look up"),
      create
        ? [
            " · ",
            h(
              "a",
              { href: href([resource.name, "new"]), "data-operation": create.id },
              `New ${singular(resource).toLowerCase()}`,
            ),
          ]
        : null,
    ),
  );
}
