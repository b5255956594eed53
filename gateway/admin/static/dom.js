// Building the page from nodes and text, never from markup strings: the page's CSP enforces
// Trusted Types with no policy, so no API value can ever be parsed as HTML.

const PROPERTIES = new Set(["value", "checked", "indeterminate"]);

// h("a", {href: "#/", onclick: f}, "text", child, [more]) → an element.
export function h(tag, props, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (PROPERTIES.has(key)) {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

export function replace(node, ...children) {
  node.replaceChildren();
  return append(node, children);
}

// A page heading that takes the focus, so keyboard and screen-reader users land on it.
export function heading(text, level = 1) {
  return h(`h${level}`, { tabindex: "-1", class: "page-title" }, text);
}

let counter = 0;
export function uniqueId(stem) {
  counter += 1;
  return `${stem}-${counter}`;
}
