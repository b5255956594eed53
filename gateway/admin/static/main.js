// The console starts here: read /openapi.json, derive what to offer, sign in, and show the
// view the address names.
//
//   #/                          the start page
//   #/products                  a list (or, for reviews and users, a look-up by id)
//   #/products/new              a create form
//   #/products/12               a detail, with the lists under it
//   #/products/12/edit|replace  an edit (PATCH) or replace (PUT) form
//   #/products/12/reviews/new   a create form for a list under an item
//   #/users/me                  a fixed page, with its actions

import { plan as derive } from "./plan.js";
import { Session } from "./session.js";
import { Api } from "./api.js";
import { h, heading, replace } from "./dom.js";
import { current, href, onChange } from "./router.js";
import { signInView } from "./signin.js";
import { homeView } from "./home.js";
import { listPage } from "./listview.js";
import { lookupView } from "./lookup.js";
import { detailView, singular } from "./detail.js";
import { createView } from "./create.js";
import { editView } from "./edit.js";
import { pageView } from "./pages.js";

const main = document.getElementById("main");

async function boot() {
  let raw;
  try {
    const answer = await fetch(main.dataset.openapi, { headers: { Accept: "application/json" } });
    if (!answer.ok) throw new Error(`HTTP ${answer.status}`);
    raw = await answer.json();
  } catch (error) {
    replace(
      main,
      h(
        "p",
        { class: "form-problem", role: "alert" },
        `The API's description could not be read (${error.message}).`,
      ),
    );
    return;
  }
  const plan = derive(raw);
  const session = new Session(plan.session);
  const ctx = { plan, session, api: new Api(session) };
  session.addEventListener("change", () => masthead(ctx));
  session.addEventListener("end", (event) => {
    masthead(ctx);
    show(ctx, (view) => signInView(ctx, view, event.detail.message, () => route(ctx)));
  });
  onChange(() => route(ctx));
  masthead(ctx);
  route(ctx);
}

function route(ctx) {
  if (!ctx.session.signedIn) {
    show(ctx, (view) => signInView(ctx, view, null, () => route(ctx)));
    return;
  }
  const { segments, query } = current();
  masthead(ctx);
  show(ctx, (view) => dispatch(ctx, view, segments, query));
}

function dispatch(ctx, view, [name, second, third, fourth], query) {
  if (!name) return homeView(ctx, view);
  const resource = ctx.plan.resources.get(name);
  if (!resource) return missing(view);
  if (second === undefined) {
    const list = resource.collection.list;
    if (!list) return lookupView(ctx, view, resource);
    return listPage(ctx, view, resource, query);
  }
  if (second === "new" && resource.collection.create) {
    return createView(ctx, view, {
      op: resource.collection.create,
      resource,
      back: { href: href([name]), label: resource.title, route: [name] },
    });
  }
  const page = resource.pages[second];
  if (page?.read && third === undefined) return pageView(ctx, view, resource, page);
  if (!resource.item.read) return missing(view);
  if (third === undefined) return detailView(ctx, view, resource, second);
  if (third === "edit" && resource.item.update)
    return editView(ctx, view, resource, second, "update");
  if (third === "replace" && resource.item.replace)
    return editView(ctx, view, resource, second, "replace");
  const child = resource.children.find((c) => c.name === third);
  if (child?.create && fourth === "new") {
    const items = ctx.plan.resources.get(child.resource) ?? { name: child.name, title: child.name };
    return createView(ctx, view, {
      op: child.create,
      resource: items,
      params: { [resource.item.parameter]: second },
      back: {
        href: href([name, second]),
        label: `${singular(resource)} #${second}`,
        route: [name, second],
      },
    });
  }
  return missing(view);
}

// Each view gets a fresh element: a slow answer for a view already left lands nowhere.
async function show(ctx, render) {
  const view = h("div", { class: "view" });
  main.replaceChildren(view);
  const title = await render(view);
  if (view.isConnected) (title ?? main).focus();
}

function missing(view) {
  const title = heading("Nothing here");
  replace(
    view,
    title,
    h("p", {}, "The console has no such view. "),
    h("a", { href: "#/" }, "Back to the start"),
  );
  return title;
}

function masthead(ctx) {
  const who = document.getElementById("who");
  const nav = document.getElementById("nav");
  const account = ctx.session.account;
  if (!ctx.session.signedIn || !account) {
    who.replaceChildren();
    nav.hidden = true;
    return;
  }
  const pages = [...ctx.plan.resources.values()].flatMap((r) =>
    Object.values(r.pages)
      .filter((p) => p.read)
      .map((p) => href([r.name, p.name])),
  );
  replace(
    who,
    h(
      "span",
      { class: "account" },
      account.display_name,
      h("span", { class: "role" }, ` (${account.email})`),
    ),
    pages.length ? h("a", { href: pages[0] }, "Your account") : null,
    h(
      "button",
      { type: "button", class: "secondary small", onclick: () => ctx.session.signOut() },
      "Sign out",
    ),
  );
  const [here] = current().segments;
  replace(
    nav,
    h(
      "ul",
      {},
      [...ctx.plan.resources.values()]
        .filter((r) => r.collection.list || r.item.read)
        .sort((a, b) => Boolean(b.collection.list) - Boolean(a.collection.list))
        .map((r) =>
          h(
            "li",
            {},
            h(
              "a",
              { href: href([r.name]), "aria-current": r.name === here ? "page" : null },
              r.title,
            ),
          ),
        ),
    ),
  );
  nav.hidden = false;
}

boot();
