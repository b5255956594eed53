// Calling an operation of the document: its path filled in, its query and headers built,
// the session's token attached and refreshed once when the API answers 401.

import { send } from "./http.js";

export class Api {
  constructor(session) {
    this.session = session;
  }

  // `ifMatch` only goes to operations that judge it; `key` only to those that take one.
  async call(op, { params = {}, query = {}, body, ifMatch, key } = {}) {
    const url = urlOf(op, params, query);
    const headers = {};
    if (ifMatch && op.conditional) headers["If-Match"] = ifMatch;
    if (key && op.idempotent) headers["Idempotency-Key"] = key;
    for (let attempt = 0; ; attempt += 1) {
      const answer = await send(op.method, url, {
        headers: { ...headers, ...this.session.authorization() },
        json: body,
      });
      if (answer.status === 401 && attempt === 0 && this.session.signedIn) {
        if (await this.session.refresh()) continue;
      }
      if (!answer.ok) throw answer.error();
      return answer;
    }
  }
}

export function urlOf(op, params = {}, query = {}) {
  const path = op.path.replace(/\{([^}]+)\}/g, (_, name) => {
    if (params[name] === undefined) throw new Error(`${op.id} needs ${name}`);
    return encodeURIComponent(params[name]);
  });
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    search.set(name, Array.isArray(value) ? value.join(",") : String(value));
  }
  const text = search.toString();
  return text ? `${path}?${text}` : path;
}
