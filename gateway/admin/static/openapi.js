// The OpenAPI document, read: operations with what a client needs to call them.

const SCHEMAS = "#/components/schemas/";

export class Document {
  constructor(raw) {
    this.raw = raw;
  }

  // The schema a `$ref` points at (followed until it is not a reference).
  resolve(schema) {
    let found = schema;
    while (found && found.$ref) found = this.pointer(found.$ref);
    return found ?? {};
  }

  pointer(ref) {
    if (!ref.startsWith("#/")) throw new Error(`only local references are read: ${ref}`);
    return ref
      .slice(2)
      .split("/")
      .reduce((node, part) => node?.[part.replaceAll("~1", "/").replaceAll("~0", "~")], this.raw);
  }

  // Every operation of the document, in its order.
  operations() {
    const found = [];
    for (const [path, item] of Object.entries(this.raw.paths ?? {})) {
      for (const [method, raw] of Object.entries(item)) {
        if (!["get", "post", "put", "patch", "delete"].includes(method)) continue;
        found.push(new Operation(this, method.toUpperCase(), path, raw));
      }
    }
    return found;
  }
}

// The name of the component a schema refers to ("Product"), or null.
export function schemaName(schema) {
  const ref = schema?.$ref;
  return ref?.startsWith(SCHEMAS) ? ref.slice(SCHEMAS.length) : null;
}

export class Operation {
  constructor(doc, method, path, raw) {
    this.doc = doc;
    this.method = method;
    this.path = path;
    this.id = raw.operationId;
    this.summary = raw.summary ?? "";
    this.description = raw.description ?? "";
    this.parameters = (raw.parameters ?? []).map((p) => doc.resolve(p));
    this.security = raw.security ?? [];
    const body = raw.requestBody?.content?.["application/json"]?.schema;
    this.bodyName = schemaName(body);
    this.body = body ? doc.resolve(body) : null;
    this.answer = readAnswer(doc, raw.responses ?? {});
  }

  // Anyone may call it when one of its requirements is empty.
  get open() {
    return this.security.length === 0 || this.security.some((r) => Object.keys(r).length === 0);
  }

  // An admin requirement: a scheme that lists the `admin` role (OpenAPI 3.1 roles).
  get admin() {
    return (
      !this.open &&
      this.security.every((r) => Object.values(r).some((roles) => roles.includes("admin")))
    );
  }

  get query() {
    return this.parameters.filter((p) => p.in === "query");
  }

  header(name) {
    return this.parameters.some(
      (p) => p.in === "header" && p.name.toLowerCase() === name.toLowerCase(),
    );
  }

  // Writes that take If-Match judge it; the others refuse it, so it is sent only to these.
  get conditional() {
    return this.method !== "GET" && this.header("If-Match");
  }

  get idempotent() {
    return this.header("Idempotency-Key");
  }

  queryParameter(name) {
    return this.query.find((p) => p.name === name) ?? null;
  }
}

// The success answer: its status, whether `data` is a page, and the name of what it holds.
function readAnswer(doc, responses) {
  const status = Object.keys(responses).find((s) => /^2\d\d$/.test(s));
  if (!status) return { status: null, many: false, schema: null };
  const schema = doc.resolve(responses[status].content?.["application/json"]?.schema);
  const data = schema.properties?.data;
  if (!data) return { status: Number(status), many: false, schema: null };
  if (data.type === "array")
    return { status: Number(status), many: true, schema: schemaName(data.items) };
  return { status: Number(status), many: false, schema: schemaName(data) };
}
