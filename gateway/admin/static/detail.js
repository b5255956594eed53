// One item: its properties (related items as links), the buttons for what its operations
// allow (Edit, Replace, Delete, actions such as Cancel, the status moves `x-transitions`
// permits), and the lists that live under it (a product's reviews).

import { h, heading, replace } from "./dom.js";
import { fieldsOf, labelOf as titleOf } from "./fields.js";
import { labelOf, text } from "./format.js";
import { missingIncludes } from "./reading.js";
import { listView } from "./listview.js";
import { href, go } from "./router.js";
import { resourceFor } from "./plan.js";
import { referenceOf } from "./references.js";
import { schemaName } from "./openapi.js";
import { ask } from "./confirm.js";
import { announce } from "./status.js";
import { OnceKey } from "./keys.js";

export async function detailView(ctx, view, resource, id) {
  const { read, parameter } = resource.item;
  const params = { [parameter]: id };
  const title = heading(`${resource.title} #${id}`);
  replace(view, crumbs(resource), title, h("p", { class: "loading" }, "Loading…"));
  let answer;
  try {
    answer = await ctx.api.call(read, { params });
  } catch (error) {
    replace(
      view,
      crumbs(resource),
      title,
      h("p", { class: "form-problem", role: "alert" }, error.message),
    );
    return title;
  }
  const data = { ...answer.data };
  const extra = missingIncludes(read, data, resource.children);
  if (extra.length) {
    const more = await ctx.api.call(read, { params, query: { include: extra } }).catch(() => null);
    for (const name of extra) if (more?.data?.[name] !== undefined) data[name] = more.data[name];
  }
  title.textContent = `${singular(resource)}: ${labelOf(data)}`;
  const reload = () => detailView(ctx, view, resource, id).then((t) => t.focus());
  replace(
    view,
    crumbs(resource),
    title,
    buttons(ctx, resource, data, answer.etag, params, reload),
    properties(ctx, resource, data),
    resource.children.filter((c) => c.list).map((child) => childList(ctx, resource, child, params)),
  );
  return title;
}

function crumbs(resource) {
  return h(
    "nav",
    { class: "crumbs", "aria-label": "Breadcrumb" },
    h("a", { href: "#/" }, "Home"),
    " › ",
    h("a", { href: href([resource.name]) }, resource.title),
  );
}

export function singular(resource) {
  return resource.title.replace(/ies$/, "y").replace(/s$/, "");
}

function buttons(ctx, resource, data, etag, params, reload) {
  const { update, replace: put, remove } = resource.item;
  const id = data.id;
  const found = [];
  if (update)
    found.push(
      h(
        "a",
        { class: "button", href: href([resource.name, id, "edit"]), "data-operation": update.id },
        "Edit",
      ),
    );
  if (put)
    found.push(
      h(
        "a",
        {
          class: "button secondary",
          href: href([resource.name, id, "replace"]),
          "data-operation": put.id,
        },
        "Replace",
      ),
    );
  found.push(...transitions(ctx, resource, data, etag, params, reload));
  const key = new OnceKey();
  for (const { name, op } of resource.actions) {
    found.push(
      h(
        "button",
        {
          type: "button",
          class: "secondary",
          "data-operation": op.id,
          onclick: async () => {
            if (
              !(await ask(`${op.summary || titleOf(name)}: #${id}?`, op.description, titleOf(name)))
            )
              return;
            try {
              await ctx.api.call(op, { params, key: key.for(`${op.id}:${id}`) });
              announce(`${titleOf(name)}: done.`);
              reload();
            } catch (error) {
              announce(`${titleOf(name)} refused: ${error.message}`, "error");
            }
          },
        },
        op.summary || titleOf(name),
      ),
    );
  }
  if (remove) {
    found.push(
      h(
        "button",
        {
          type: "button",
          class: "danger",
          "data-operation": remove.id,
          onclick: async () => {
            if (!(await ask(`Delete ${labelOf(data)}?`, "This cannot be undone."))) return;
            try {
              await ctx.api.call(remove, { params, ifMatch: etag });
              announce(`Deleted ${labelOf(data)}.`);
              go([resource.name]);
            } catch (error) {
              const changed =
                error.status === 412 ? "it changed since you opened it; look again first. " : "";
              announce(`Not deleted: ${changed}${error.message}`, "error");
            }
          },
        },
        "Delete",
      ),
    );
  }
  return found.length ? h("div", { class: "toolbar" }, found) : null;
}

// A button per move the update operation's `x-transitions` allow from the current value.
function transitions(ctx, resource, data, etag, params, reload) {
  const update = resource.item.update;
  if (!update?.body) return [];
  const found = [];
  for (const field of fieldsOf(ctx.plan.doc, update.body)) {
    const moves = field.transitions?.[data[field.name]] ?? [];
    for (const target of moves) {
      found.push(
        h(
          "button",
          {
            type: "button",
            class: "secondary",
            "data-operation": update.id,
            onclick: async () => {
              try {
                await ctx.api.call(update, {
                  params,
                  body: { [field.name]: target },
                  ifMatch: etag,
                });
                announce(`${field.label}: ${target}.`);
                reload();
              } catch (error) {
                announce(`Not moved to ${target}: ${error.message}`, "error");
              }
            },
          },
          `Mark ${target}`,
        ),
      );
    }
    if (field.transitions && data[field.name] !== undefined && moves.length === 0) {
      found.push(
        h("span", { class: "hint" }, `${field.label} ${data[field.name]}: no further moves.`),
      );
    }
  }
  return found;
}

function properties(ctx, resource, data) {
  const schema =
    ctx.plan.doc.resolve({ $ref: `#/components/schemas/${resource.schema}` }).properties ?? {};
  const rows = Object.entries(data).map(([name, value]) => [
    h("dt", {}, titleOf(name)),
    h("dd", {}, valueOf(ctx, resource, name, value, schema[name])),
  ]);
  return h("dl", { class: "properties" }, rows);
}

function valueOf(ctx, resource, name, value, schema) {
  const { resources } = ctx.plan;
  const linkTo = (target, item) =>
    target && resources.get(target)?.item.read
      ? h("a", { href: href([target, item.id]) }, labelOf(item))
      : labelOf(item);
  const related = schemaName(schema?.items ?? (schema?.anyOf ?? [schema]).find((o) => o?.$ref));
  const target = resourceFor(resources, related, name);
  if (Array.isArray(value) && value.every((v) => v && typeof v === "object")) {
    if (value.length === 0) return "none";
    if (value.every((v) => "id" in v))
      return h(
        "ul",
        { class: "chips" },
        value.map((v) => h("li", {}, linkTo(target, v))),
      );
    return lines(ctx, resource, value);
  }
  if (value && typeof value === "object") return linkTo(target, value);
  if (typeof value === "number" && /_id$/.test(name)) {
    const pointed = referenceOf(ctx.plan, { name }, resource.name);
    return pointed ? h("a", { href: href([pointed, value]) }, `#${value}`) : String(value);
  }
  return text(value, schema);
}

// Objects without an id of their own (an order's lines): a small table.
function lines(ctx, resource, rows) {
  const names = Object.keys(rows[0]);
  return h(
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
          names.map((n) => h("th", { scope: "col" }, titleOf(n))),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((row) =>
          h(
            "tr",
            {},
            names.map((n) =>
              h("td", { "data-label": titleOf(n) }, valueOf(ctx, resource, n, row[n], null)),
            ),
          ),
        ),
      ),
    ),
  );
}

function childList(ctx, parent, child, params) {
  const title = `${titleOf(child.name)} of this ${singular(parent).toLowerCase()}`;
  const create = child.create
    ? h(
        "a",
        {
          class: "button secondary",
          href: href([parent.name, params[parent.item.parameter], child.name, "new"]),
          "data-operation": child.create.id,
        },
        `New ${singular({ title: titleOf(child.name) }).toLowerCase()}`,
      )
    : null;
  return h(
    "section",
    { class: "child" },
    h("div", { class: "section-head" }, h("h2", {}, titleOf(child.name)), create),
    listView(ctx, {
      op: child.list,
      items: child.resource,
      params,
      state: new URLSearchParams(),
      title,
      filters: false,
      rowDelete: true,
    }),
  );
}
