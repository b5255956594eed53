// Where the console is: the part of the address after "#", as path segments and a query,
// so every view has an address, Back works, and a filtered list can be bookmarked.

export function current() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { segments, query: new URLSearchParams(search) };
}

export function href(segments, query) {
  const path = segments.map((s) => encodeURIComponent(String(s))).join("/");
  const search = query ? new URLSearchParams(query).toString() : "";
  return `#/${path}${search ? `?${search}` : ""}`;
}

let listener = null;

export function go(segments, query) {
  const target = href(segments, query);
  if (location.hash === target) listener?.();
  else location.hash = target;
}

export function onChange(render) {
  listener = render;
  window.addEventListener("hashchange", render);
}
