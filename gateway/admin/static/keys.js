// Idempotency keys: one per form and body, so a double click sends the same key twice and
// the API creates one thing; a changed body gets a new key (the old one would be 422).

export class OnceKey {
  #body = null;
  #key = null;

  for(body) {
    if (body !== this.#body) {
      this.#body = body;
      this.#key = fresh();
    }
    return this.#key;
  }
}

// crypto.randomUUID needs a secure context; getRandomValues works over plain HTTP too.
function fresh() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "admin-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
