// A resource the API does not list as a whole (reviews, users): open one by its id, and
// see where the console lists or links them.

import { h, heading, replace, uniqueId } from "./dom.js";
import { go, href } from "./router.js";
import { resourceFor } from "./plan.js";
import { schemaName } from "./openapi.js";
import { labelOf as titleOf } from "./fields.js";
import { singular } from "./detail.js";

export function lookupView(ctx, view, resource) {
  const title = heading(resource.title);
  const id = uniqueId("lookup");
  const input = h("input", {
    id,
    type: "number",
    min: 1,
    step: 1,
    required: true,
    inputmode: "numeric",
  });
  const form = h(
    "form",
    { class: "lookup", role: "search", novalidate: true },
    h("div", { class: "field" }, h("label", { for: id }, `${singular(resource)} id`), input),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Open")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (input.value) go([resource.name, input.value]);
    else input.focus();
  });
  const places = whereListed(ctx, resource);
  replace(
    view,
    title,
    h("p", { class: "about" }, `The API has no list of all ${resource.name}: open one by its id.`),
    form,
    places.length
      ? [
          h("h2", {}, "Where they appear"),
          h(
            "ul",
            {},
            places.map((p) => h("li", {}, p)),
          ),
        ]
      : null,
    pageLinks(resource),
  );
  return title;
}

function whereListed(ctx, resource) {
  const found = [];
  for (const other of ctx.plan.resources.values()) {
    for (const child of other.children) {
      if (child.resource === resource.name) {
        found.push([
          `In each of the `,
          h("a", { href: href([other.name]) }, other.name),
          `' details (${titleOf(child.name)})`,
        ]);
      }
    }
    if (!other.schema || other === resource) continue;
    const properties =
      ctx.plan.doc.resolve({ $ref: `#/components/schemas/${other.schema}` }).properties ?? {};
    for (const [name, schema] of Object.entries(properties)) {
      const related = schemaName((schema.anyOf ?? [schema]).find((o) => o.$ref) ?? {});
      if (related && resourceFor(ctx.plan.resources, related, name) === resource.name) {
        found.push([
          `As the ${titleOf(name).toLowerCase()} of `,
          h("a", { href: href([other.name]) }, other.name),
        ]);
      }
    }
  }
  return found;
}

function pageLinks(resource) {
  const pages = Object.values(resource.pages).filter((p) => p.read);
  if (!pages.length) return null;
  return h(
    "p",
    {},
    pages.map((p) =>
      h("a", { href: href([resource.name, p.name]) }, `${resource.title}: ${p.name}`),
    ),
  );
}
