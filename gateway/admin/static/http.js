// One HTTP exchange with the API: JSON in, JSON or problem+json out, headers kept.

export class ApiError extends Error {
  constructor(status, problem = {}, headers = new Headers()) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem.code ?? (status === 0 ? "NETWORK" : null);
    this.title = problem.title ?? null;
    this.errors = Array.isArray(problem.errors) ? problem.errors : [];
    this.requestId = problem.request_id ?? headers.get("x-request-id");
    this.retryAfter = headers.get("retry-after");
  }
}

export class Answer {
  constructor(response, body) {
    this.status = response.status;
    this.ok = response.ok;
    this.headers = response.headers;
    this.body = body;
  }

  get data() {
    return this.body?.data ?? null;
  }

  get page() {
    return this.body?.page ?? null;
  }

  get etag() {
    return this.headers.get("etag");
  }

  get location() {
    return this.headers.get("location");
  }

  get replayed() {
    return this.headers.get("idempotent-replayed") === "true";
  }

  error() {
    return new ApiError(this.status, this.body ?? {}, this.headers);
  }
}

export async function send(method, url, { headers = {}, json } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, cache: "no-store" };
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (failure) {
    throw new ApiError(0, { detail: `The API could not be reached (${failure.message}).` });
  }
  const type = response.headers.get("content-type") ?? "";
  const body = /json/.test(type) ? await response.json().catch(() => null) : null;
  return new Answer(response, body);
}
