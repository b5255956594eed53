// The signed-in admin: tokens held in memory only (never in storage, gone with the tab),
// refreshed before they expire, and given up when the account is no longer an admin.

import { send } from "./http.js";

export class AdminsOnly extends Error {
  constructor(account) {
    super(
      `This console is for admins only: ${account.email ?? account.display_name} ` +
        `is a ${account.role} account.`,
    );
    this.account = account;
  }
}

export class Session extends EventTarget {
  #access = null;
  #refresh = null;
  #timer = 0;
  #pending = null;

  constructor(operations) {
    super();
    this.operations = operations;
    this.account = null;
  }

  get signedIn() {
    return this.#access !== null;
  }

  authorization() {
    return this.#access ? { Authorization: `Bearer ${this.#access}` } : {};
  }

  async signIn(email, password) {
    const answer = await send("POST", this.operations.login.path, { json: { email, password } });
    if (!answer.ok) throw answer.error();
    await this.adopt(answer.data);
  }

  // Take a session the API answered (sign-in, refresh, a password change).
  async adopt(session) {
    this.#access = session.access_token;
    this.#refresh = session.refresh_token;
    this.account = session.account;
    if (session.account.role !== "admin") {
      await this.signOut(null);
      throw new AdminsOnly(session.account);
    }
    clearTimeout(this.#timer);
    const seconds = Math.max(5, Number(session.expires_in) * 0.8);
    this.#timer = setTimeout(() => this.refresh(), seconds * 1000);
    this.dispatchEvent(new Event("change"));
  }

  // A new pair for the refresh token (one exchange however many callers ask at once);
  // false when the sign-in is over, which ends the session.
  refresh() {
    this.#pending ??= this.#exchange().finally(() => (this.#pending = null));
    return this.#pending;
  }

  async #exchange() {
    const token = this.#refresh;
    if (!token) return false;
    let answer;
    try {
      answer = await send("POST", this.operations.refresh.path, { json: { refresh_token: token } });
    } catch {
      return false;
    }
    if (!answer.ok) {
      this.#end("Your sign-in has ended. Sign in again.");
      return false;
    }
    try {
      await this.adopt(answer.data);
    } catch (refused) {
      this.#end(refused.message);
      return false;
    }
    return true;
  }

  async signOut(message = "Signed out.") {
    const token = this.#refresh;
    this.#forget();
    if (token) {
      await send("POST", this.operations.logout.path, { json: { refresh_token: token } }).catch(
        () => null,
      );
    }
    if (message !== null) this.dispatchEvent(new CustomEvent("end", { detail: { message } }));
  }

  #end(message) {
    this.#forget();
    this.dispatchEvent(new CustomEvent("end", { detail: { message } }));
  }

  #forget() {
    clearTimeout(this.#timer);
    this.#access = null;
    this.#refresh = null;
    this.account = null;
  }
}
