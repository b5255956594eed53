// Presentation choices the document cannot make, like Django's `list_display`: which
// columns a list shows (by schema name). A property the API no longer has is skipped; a
// type not named here shows its first scalar properties.

export const COLUMNS = {
  Product: ["name", "sku", "price", "stock", "category", "rating_avg"],
  Category: ["name", "slug", "parent"],
  Tag: ["name"],
  Order: ["status", "customer", "total", "created_at"],
  Review: ["rating", "title", "author", "created_at"],
};

// The properties that name an item, in order of preference.
export const LABEL_PROPERTIES = ["name", "display_name", "title", "slug", "sku", "email"];

export const PAGE_SIZES = [20, 50, 100];

export function columnsFor(schemaName, properties) {
  const names = Object.keys(properties);
  const chosen = (COLUMNS[schemaName] ?? []).filter((c) => names.includes(c));
  if (chosen.length) return chosen;
  return names.filter((n) => n !== "id" && !isList(properties[n])).slice(0, 6);
}

function isList(schema) {
  return schema.type === "array";
}
