// From what a read answered to what a write sends: a form's starting values, and the
// fields a PATCH changes.

// Each field's current value; `tag_ids` from `tags`, `category_id` from `category`.
export function writable(fields, data) {
  const values = {};
  for (const field of fields) {
    const many = /^(.+)_ids$/.exec(field.name);
    const one = /^(.+)_id$/.exec(field.name);
    if (field.name in data) values[field.name] = data[field.name];
    else if (many && Array.isArray(data[`${many[1]}s`]))
      values[field.name] = data[`${many[1]}s`].map((i) => i.id);
    else if (one && data[one[1]] && typeof data[one[1]] === "object")
      values[field.name] = data[one[1]].id;
  }
  return values;
}

// The entered values that differ from `before` (lists compared as sets).
export function changes(entered, before) {
  const found = {};
  for (const [name, value] of Object.entries(entered)) {
    if (!same(value, before[name])) found[name] = value;
  }
  return found;
}

export function same(a, b) {
  if (Array.isArray(a) && Array.isArray(b)) {
    const key = (list) => JSON.stringify([...list].map(String).sort());
    return key(a) === key(b);
  }
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}
