// A modal question with two buttons (<dialog>: focus stays inside, Escape says no).

import { h } from "./dom.js";

export function ask(question, detail, yes = "Delete") {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog",
      { class: "confirm", "aria-labelledby": "confirm-title" },
      h("h2", { id: "confirm-title" }, question),
      detail ? h("p", {}, detail) : null,
      h(
        "form",
        { method: "dialog", class: "actions" },
        h("button", { value: "no", class: "secondary", autofocus: true }, "Keep it"),
        h("button", { value: "yes", class: "danger" }, yes),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
