// What the console offers, derived from the OpenAPI document alone: its resources, their
// views, and which operation each control of each view calls.
//
// Paths are read by shape, under the prefix every path shares (/api/v1):
//   /things              GET a page: the list; POST: "New"
//   /things/{id}         GET: the detail; PATCH: "Edit"; PUT: "Replace"; DELETE: "Delete"
//   /things/{id}/others  GET a page: a list inside the detail; POST: "New" in that list
//   /things/{id}/verb    POST alone: a button on the detail ("Cancel")
//   /things/word         GET: a page of its own (/users/me); POST: a procedure (/auth/login)
//   /things/word/verb    POST: a form on that page (/users/me/password)
// Sign-in, refresh and sign-out are the operations called login, refresh and logout.

import { Document } from "./openapi.js";

const SESSION = ["login", "refresh", "logout"];

export function plan(raw) {
  const doc = new Document(raw);
  const operations = doc.operations();
  const prefix = commonPrefix(operations.map((o) => o.path));
  const resources = new Map();
  const rendered = new Map();
  const omitted = new Map();
  const session = {};
  const resource = (name) => {
    if (!resources.has(name)) resources.set(name, blank(name));
    return resources.get(name);
  };
  const pages = operations.filter((o) => o.method === "GET" && o.answer.many).map((o) => o.path);

  for (const op of operations) {
    const parts = op.path.slice(prefix.length).split("/").filter(Boolean);
    const [name, second, third] = parts;
    const variable = (part) => part?.startsWith("{");
    const where = (text) => rendered.set(op.id, text);
    if (SESSION.includes(op.id)) {
      session[op.id] = op;
      where("sign-in");
    } else if (parts.length === 1) {
      const it = resource(name);
      it.collection.path = op.path;
      if (op.method === "GET" && op.answer.many) {
        it.collection.list = op;
        it.schema ??= op.answer.schema;
        where(`${name}: list`);
      } else if (op.method === "POST") {
        it.collection.create = op;
        where(`${name}: list, New`);
      } else omitted.set(op.id, "a collection method the console does not know");
    } else if (parts.length === 2 && variable(second)) {
      const it = resource(name);
      it.item.path = op.path;
      it.item.parameter = second.slice(1, -1);
      const role = { GET: "read", PATCH: "update", PUT: "replace", DELETE: "remove" }[op.method];
      if (!role) {
        omitted.set(op.id, "an item method the console does not know");
        continue;
      }
      it.item[role] = op;
      if (role === "read") it.schema = op.answer.schema ?? it.schema;
      where(`${name}: detail${role === "read" ? "" : `, ${LABELS[role]}`}`);
    } else if (parts.length === 3 && variable(second)) {
      const parent = resource(name);
      const listed = pages.includes(op.path);
      if (listed) {
        const child =
          parent.children.find((c) => c.path === op.path) ?? addChild(parent, op, third);
        if (op.method === "GET") {
          child.list = op;
          child.schema = op.answer.schema;
        } else if (op.method === "POST") child.create = op;
        where(`${name}: detail, ${third}${op.method === "POST" ? ", New" : ""}`);
      } else if (op.method === "POST") {
        parent.actions.push({ name: third, op });
        where(`${name}: detail, ${third}`);
      } else omitted.set(op.id, "a sub-resource method the console does not know");
    } else if (parts.length >= 2 && !variable(second)) {
      const it = resource(name);
      const page = (it.pages[second] ??= { name: second, path: null, read: null, actions: [] });
      if (parts.length === 2 && op.method === "GET") {
        page.path = op.path;
        page.read = op;
        where(`${name}/${second}`);
      } else if (parts.length === 3 && op.method === "POST") {
        page.actions.push({ name: third, op });
        where(`${name}/${second}: ${third}`);
      } else {
        // A procedure such as /auth/register: nothing an admin does from a console.
        omitted.set(op.id, "a procedure, not a resource");
        if (!page.read && page.actions.length === 0) delete it.pages[second];
      }
    } else omitted.set(op.id, "a path of a shape the console does not know");
  }
  for (const [name, it] of resources) {
    const useful = it.collection.list || it.item.read || Object.keys(it.pages).length;
    if (!useful) resources.delete(name);
  }
  for (const it of resources.values()) {
    for (const child of it.children)
      child.resource = resourceFor(resources, child.schema, child.name);
  }
  return { doc, prefix, resources, session, rendered, omitted };
}

const LABELS = { update: "Edit", replace: "Replace", remove: "Delete" };

function blank(name) {
  return {
    name,
    title: name.charAt(0).toUpperCase() + name.slice(1),
    schema: null,
    collection: { path: null, list: null, create: null },
    item: { path: null, parameter: "id", read: null, update: null, replace: null, remove: null },
    children: [],
    actions: [],
    pages: {},
  };
}

function addChild(parent, op, name) {
  const child = { name, path: op.path, list: null, create: null, schema: null, resource: null };
  parent.children.push(child);
  return child;
}

// The resource whose items are `schema` ("Review" → reviews), else the one called `name`.
export function resourceFor(resources, schema, name) {
  for (const it of resources.values()) if (schema && it.schema === schema) return it.name;
  if (schema) {
    const plural = pluralOf(schema.replace(/[A-Z]/g, (c, i) => (i ? "_" : "") + c.toLowerCase()));
    if (resources.has(plural)) return plural;
  }
  return resources.has(name) ? name : null;
}

// "category" → "categories", "tag" → "tags": how the API names its collections.
export function pluralOf(word) {
  if (/[^aeiou]y$/.test(word)) return word.slice(0, -1) + "ies";
  if (/(s|x|ch|sh)$/.test(word)) return word + "es";
  return word + "s";
}

function commonPrefix(paths) {
  if (paths.length === 0) return "";
  const split = paths.map((p) => p.split("/"));
  const shared = [];
  for (let i = 0; i < split[0].length; i += 1) {
    const part = split[0][i];
    if (part.startsWith("{") || !split.every((s) => s[i] === part && s.length > i + 1)) break;
    shared.push(part);
  }
  // Keep the resource's own segment: the prefix ends before the shortest path's last part.
  const shortest = Math.min(...split.map((s) => s.length));
  return shared.slice(0, shortest - 1).join("/");
}

// The console route of an API address (a `Location`): ["products", "12"], or null.
export function routeOf(found, location) {
  if (!location) return null;
  const path = new URL(location, window.location.href).pathname;
  for (const it of found.resources.values()) {
    if (!it.item.path || !it.item.read) continue;
    const pattern = new RegExp(`^${it.item.path.replace(/\{[^}]+\}/g, "([^/]+)")}$`);
    const match = pattern.exec(path);
    if (match) return [it.name, decodeURIComponent(match[1])];
  }
  return null;
}
