// One polite live region for what just happened ("Saved", "3 of 5 updated").

let timer = null;

export function announce(message, kind = "info") {
  const region = document.getElementById("status");
  region.textContent = message;
  region.dataset.kind = kind;
  region.hidden = false;
  clearTimeout(timer);
  if (kind !== "error") timer = setTimeout(() => (region.hidden = true), 6000);
}
