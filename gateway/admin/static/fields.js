// Fields from a JSON Schema, as the API declares them: kind, label, required, limits.

export function fieldsOf(doc, schema) {
  const required = new Set(schema?.required ?? []);
  return Object.entries(schema?.properties ?? {}).map(([name, raw]) =>
    fieldOf(doc, name, raw, required.has(name)),
  );
}

export function fieldOf(doc, name, raw, required = false) {
  let schema = doc.resolve(raw);
  let nullable = false;
  if (schema.anyOf) {
    const options = schema.anyOf.map((o) => doc.resolve(o));
    nullable = options.some((o) => o.type === "null");
    const rest = options.filter((o) => o.type !== "null");
    // One type left: that is the field. Several (an id or a slug): free text.
    schema = rest.length === 1 ? { ...schema, ...rest[0] } : { ...schema, type: "string" };
  }
  const field = {
    name,
    label: labelOf(name),
    description: schema.description ?? "",
    required,
    nullable,
    kind: kindOf(schema),
    values: schema.enum ?? (schema.const !== undefined ? [schema.const] : null),
    fallback: schema.default,
    minimum: schema.minimum ?? null,
    maximum: schema.maximum ?? null,
    minLength: schema.minLength ?? null,
    maxLength: schema.maxLength ?? null,
    pattern: schema.pattern ?? null,
    minItems: schema.minItems ?? null,
    maxItems: schema.maxItems ?? null,
    transitions: schema["x-transitions"] ?? null,
  };
  if (field.kind === "list") field.item = fieldOf(doc, name, schema.items ?? {}, true);
  if (field.kind === "rows") field.fields = fieldsOf(doc, doc.resolve(schema.items));
  return field;
}

function kindOf(schema) {
  if (schema.enum || schema.const !== undefined) return "enum";
  switch (schema.type) {
    case "integer":
    case "number":
    case "boolean":
      return schema.type;
    case "array": {
      const items = schema.items ?? {};
      return items.$ref || items.type === "object" ? "rows" : "list";
    }
    case "object":
      return "object";
    default:
      if (schema.format === "date-time") return "datetime";
      return (schema.maxLength ?? 0) > 1000 ? "longtext" : "text";
  }
}

// "category_id" → "Category id"
export function labelOf(name) {
  if (name === "id") return "ID";
  const words = name.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const NUMBER = new Intl.NumberFormat("en", { maximumFractionDigits: 2 });

// The limits the API enforces, in words, for a hint next to the field.
export function limitsOf(field) {
  const parts = [];
  const { minimum: low, maximum: high, minLength, maxLength } = field;
  const huge = (n) => n !== null && n >= 2 ** 53;
  if (field.kind === "integer" || field.kind === "number") {
    if (low !== null && high !== null && !huge(high))
      parts.push(`${NUMBER.format(low)} to ${NUMBER.format(high)}`);
    else if (low !== null) parts.push(`at least ${NUMBER.format(low)}`);
    else if (high !== null && !huge(high)) parts.push(`at most ${NUMBER.format(high)}`);
  }
  if (minLength !== null && maxLength !== null) {
    parts.push(
      minLength === 1 ? `up to ${maxLength} characters` : `${minLength}-${maxLength} characters`,
    );
  } else if (maxLength !== null) parts.push(`up to ${maxLength} characters`);
  if (field.maxItems !== null) parts.push(`at most ${field.maxItems}`);
  if (field.pattern) parts.push(`pattern ${field.pattern}`);
  return parts.join("; ");
}
