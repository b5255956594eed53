// The read grammar, as a view uses it: the columns a list shows and the query that reads
// exactly those (`fields`, `include`, `fields[type]` for what is embedded), the list's
// own parameters (sort, filters, paging), and what a detail embeds.

import { LABEL_PROPERTIES, columnsFor } from "./display.js";
import { labelOf as titleOf } from "./fields.js";
import { schemaName } from "./openapi.js";

// Parameters of the grammar itself; every other query parameter of a list is a filter.
const GRAMMAR = new Set(["limit", "after", "count", "sort", "fields", "include"]);

export function enumOf(op, name) {
  const schema = op.queryParameter(name)?.schema;
  return schema?.items?.enum ?? schema?.enum ?? [];
}

export function filtersOf(op) {
  return op.query.filter((p) => !GRAMMAR.has(p.name) && !p.name.includes("["));
}

// What a list shows: {name, label, relation, sortable, schema} per column, id first.
export function columnsOf(doc, op) {
  const schema = doc.resolve({ $ref: `#/components/schemas/${op.answer.schema}` });
  const properties = schema.properties ?? {};
  const sorts = enumOf(op, "sort");
  return ["id", ...columnsFor(op.answer.schema, properties)].map((name) => {
    const related = relatedSchema(doc, properties[name]);
    return {
      name,
      label: titleOf(name),
      relation: related,
      sortable: sorts.includes(name),
      schema: properties[name],
    };
  });
}

// The component a relation property holds ("Category" for `category` and `parent`).
function relatedSchema(doc, property) {
  const options = property?.anyOf ?? [property];
  for (const option of options) {
    const name = schemaName(option);
    if (name) return { name, properties: doc.resolve(option).properties ?? {} };
  }
  return null;
}

// The query reading a page of `columns`: only their fields, relations embedded with only
// what names them, plus the view's own state (sort, filters, paging) and the total.
export function listQuery(op, columns, state) {
  const fields = enumOf(op, "fields");
  const includes = enumOf(op, "include");
  const query = { count: op.queryParameter("count") ? "exact" : undefined };
  const wanted = [];
  const include = [];
  for (const column of columns) {
    if (fields.includes(column.name)) wanted.push(column.name);
    if (!column.relation) continue;
    if (includes.includes(column.name)) include.push(column.name);
    const sparse = sparseFieldsFor(op, column.relation);
    if (sparse) query[sparse.parameter] = sparse.fields;
  }
  if (wanted.length && op.queryParameter("fields")) query.fields = wanted;
  if (include.length) query.include = include;
  for (const [name, value] of state) {
    if (
      name === "limit" ||
      name === "after" ||
      name === "sort" ||
      filtersOf(op).some((p) => p.name === name)
    ) {
      query[name] = value;
    }
  }
  return query;
}

// `fields[type]=id,name` for an embedded type: the bracketed parameter whose fields are
// that schema's, and the property that names it.
function sparseFieldsFor(op, related) {
  const names = Object.keys(related.properties);
  const scalars = names.filter((n) => !isRelation(related.properties[n]));
  const label = LABEL_PROPERTIES.find((p) => scalars.includes(p));
  for (const p of op.query) {
    if (!/^fields\[[^\]]+\]$/.test(p.name)) continue;
    const allowed = p.schema?.items?.enum ?? [];
    // That type's fields: all its own properties, and nothing it does not have.
    const same =
      scalars.every((f) => allowed.includes(f)) && allowed.every((f) => names.includes(f));
    if (label && same) return { parameter: p.name, fields: ["id", label] };
  }
  return null;
}

function isRelation(property) {
  const options = property.anyOf ?? [property.type === "array" ? (property.items ?? {}) : property];
  return options.some((o) => o.$ref);
}

// Relations a detail embeds in a second read because its plain read leaves them out:
// single relations and whole lists; paged lists have lists of their own in the detail.
export function missingIncludes(op, data, children) {
  return enumOf(op, "include").filter(
    (name) =>
      !name.includes(".") &&
      !(name in data) &&
      !op.queryParameter(`limit[${name}]`) &&
      !children.some((c) => c.name === name),
  );
}
