// Fields that hold another resource's id (category_id, tag_ids, parent_id): which
// resource, and its items as choices, read in one request with only the fields needed.

import { labelOf } from "./format.js";
import { pluralOf } from "./plan.js";

const MAX = 100;

// The resource a field points at: `category_id` → categories, `tag_ids` → tags, `parent_id`
// → the resource the form edits. Null when the name says nothing or no list can offer choices.
export function referenceOf(plan, field, self) {
  const match = /^(.+?)_ids?$/.exec(field.name);
  if (!match) return null;
  const stem = match[1];
  const name = stem === "parent" ? self : pluralOf(stem);
  return plan.resources.get(name)?.collection.list ? name : null;
}

// Up to 100 choices {id, label}, sorted by label; `complete` false when there are more.
export async function choices(ctx, name) {
  const list = ctx.plan.resources.get(name).collection.list;
  const fields = list.queryParameter("fields")?.schema?.items?.enum ?? [];
  const labels = ["name", "display_name", "title", "slug"].filter((f) => fields.includes(f));
  const query = { limit: MAX };
  if (labels.length) query.fields = ["id", labels[0]];
  // A tree names its nodes by their path: "Home › Lighting › Desk lamps".
  const includes = list.queryParameter("include")?.schema?.items?.enum ?? [];
  const tree = includes.includes("ancestors");
  if (tree) query.include = "ancestors";
  const answer = await ctx.api.call(list, { query });
  const items = answer.data.map((item) => ({
    id: item.id,
    label: tree ? [...(item.ancestors ?? []), item].map(labelOf).join(" › ") : labelOf(item),
  }));
  items.sort((a, b) => a.label.localeCompare(b.label));
  return { items, complete: !answer.page?.next_cursor };
}
