// A list operation as a page: search and filters, sortable columns, keyset paging with
// "Next page", the exact total, a selection with bulk changes, and actions per row.
//
// `state` is the list's query (sort, filters, limit, after). A top-level list keeps it in
// the address (`onState` navigates); a list inside a detail keeps it to itself.

import { h, heading, replace } from "./dom.js";
import { filterForm } from "./filters.js";
import { columnsOf, listQuery } from "./reading.js";
import { table, Selection } from "./table.js";
import { bulkBar } from "./bulk.js";
import { ask } from "./confirm.js";
import { announce } from "./status.js";
import { go, href } from "./router.js";
import { resourceFor } from "./plan.js";
import { labelOf } from "./format.js";
import { singular } from "./detail.js";

// A resource's own list page: its title, "New" when it can be created, the list.
export function listPage(ctx, view, resource, state) {
  const title = heading(resource.title);
  const create = resource.collection.create;
  const button = create
    ? h(
        "a",
        { class: "button", href: href([resource.name, "new"]), "data-operation": create.id },
        `New ${singular(resource).toLowerCase()}`,
      )
    : null;
  replace(
    view,
    h("div", { class: "section-head" }, title, button),
    listView(ctx, {
      op: resource.collection.list,
      items: resource.name,
      state,
      onState: (next) => go([resource.name], next),
      title: resource.title,
    }),
  );
  return title;
}

export function listView(ctx, options) {
  const {
    op,
    items: itemsOf,
    params = {},
    state,
    onState,
    title,
    filters = true,
    rowDelete = false,
  } = options;
  const { plan } = ctx;
  const columns = columnsOf(plan.doc, op);
  const target = plan.resources.get(itemsOf);
  const element = h("section", { class: "list", "aria-label": title });
  const body = h(
    "div",
    { class: "list-body", "aria-busy": "true" },
    h("p", { class: "loading" }, "Loading…"),
  );
  let current = new URLSearchParams(state);
  const setState =
    onState ??
    ((next) => {
      current = next;
      load();
    });
  if (filters) element.append(filterForm(plan.doc, op, current, (next) => setState(next)));
  element.append(body);

  const link = (item) => (target?.item.read ? href([target.name, item.id]) : null);
  const relationLink = (column, value) => {
    const name = resourceFor(plan.resources, column.relation.name, column.name);
    return name && plan.resources.get(name).item.read ? href([name, value.id]) : null;
  };

  async function load() {
    body.setAttribute("aria-busy", "true");
    let answer;
    try {
      answer = await ctx.api.call(op, { params, query: listQuery(op, columns, current) });
    } catch (error) {
      replace(
        body,
        h(
          "p",
          { class: "form-problem", role: "alert" },
          `The list could not be read: ${error.message}`,
        ),
      );
      body.removeAttribute("aria-busy");
      return;
    }
    const items = answer.data;
    const page = answer.page ?? {};
    const sort = current.get("sort") ?? op.queryParameter("sort")?.schema.default ?? null;
    const selection = target?.item.update || target?.item.remove ? new Selection() : null;
    const onSort = op.queryParameter("sort")
      ? (next) => {
          const changed = new URLSearchParams(current);
          changed.set("sort", next);
          changed.delete("after"); // a cursor is valid only for the sort it was made for
          setState(changed);
        }
      : null;
    replace(
      body,
      h("p", { class: "count" }, summary(page, items.length, current.has("after"))),
      selection ? bulkBar(ctx, target, selection, items, load) : null,
      table({
        caption: title,
        columns,
        items,
        sort,
        onSort,
        selection,
        link: target?.item.read ? link : null,
        relationLink,
        actions:
          rowDelete && target?.item.remove ? (item) => deleteButton(ctx, target, item, load) : null,
      }),
      pager(page, current, setState),
    );
    body.removeAttribute("aria-busy");
  }

  load();
  return element;
}

function summary(page, shown, paged) {
  const total = page.total !== undefined ? `${page.total} in all` : null;
  const where = paged ? "a later page" : "the first page";
  return [`${shown} shown, ${where}`, total].filter(Boolean).join(" · ");
}

// Keyset paging goes forward from a cursor; "First page" starts again.
function pager(page, state, setState) {
  const next = page.next_cursor
    ? h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            const changed = new URLSearchParams(state);
            changed.set("after", page.next_cursor);
            setState(changed);
          },
        },
        "Next page",
      )
    : null;
  const first = state.has("after")
    ? h(
        "button",
        {
          type: "button",
          class: "secondary",
          onclick: () => {
            const changed = new URLSearchParams(state);
            changed.delete("after");
            setState(changed);
          },
        },
        "First page",
      )
    : null;
  return next || first ? h("nav", { class: "pager", "aria-label": "Pages" }, first, next) : null;
}

function deleteButton(ctx, resource, item, reload) {
  const name = labelOf(item);
  return h(
    "button",
    {
      type: "button",
      class: "danger small",
      "data-operation": resource.item.remove.id,
      "aria-label": `Delete ${name}`,
      onclick: async () => {
        if (!(await ask(`Delete ${name}?`, resource.item.remove.summary))) return;
        try {
          await ctx.api.call(resource.item.remove, {
            params: { [resource.item.parameter]: item.id },
          });
          announce(`Deleted ${name}.`);
          reload();
        } catch (error) {
          announce(`Not deleted: ${error.message}`, "error");
        }
      },
    },
    "Delete",
  );
}
