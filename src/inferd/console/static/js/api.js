// The console's one way to the server: the same REST routes as every client, with the session cookie (sent by the
// browser, never readable here) and, on anything that may change something, the session's CSRF token.

const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);
const session = { csrfHeader: "X-CSRF-Token", csrfToken: null, onSignedOut: null };

export class ApiError extends Error {
  constructor(status, body) {
    super(reasonOf(body) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

function reasonOf(body) {
  if (body && typeof body === "object" && body.error) {
    const error = body.error;
    if (typeof error === "string") return error;
    let reason = error.reason || error.type;
    if (error.caused_by && error.caused_by.reason) reason += `: ${error.caused_by.reason}`;
    return reason;
  }
  return null;
}

export function setSession(csrfHeader, csrfToken) {
  session.csrfHeader = csrfHeader || session.csrfHeader;
  session.csrfToken = csrfToken;
}

export function onSignedOut(callback) {
  session.onSignedOut = callback;
}

// Fills a route template's {names} with URL-encoded values: ("/_inferd/deployments/{id}", {id: "a b"}).
export function path(template, values = {}) {
  return template.replace(/\{(\w+)\}/g, (_, name) => encodeURIComponent(values[name]));
}

// `background`: the console asked by itself (a reload the live feed prompted), not the user: the session's idle
// timeout does not start again.
export async function request(method, url, { body, headers = {}, authorization, query, background } = {}) {
  const all = { Accept: "application/json", "X-Requested-With": "inferd-console", ...headers };
  if (background) all["X-Inferd-Background"] = "true";
  if (authorization) all.Authorization = authorization;
  if (!SAFE.has(method) && session.csrfToken && !authorization) all[session.csrfHeader] = session.csrfToken;
  let payload;
  if (body !== undefined) {
    all["Content-Type"] = "application/json";
    payload = typeof body === "string" ? body : JSON.stringify(body);
  }
  let target = url;
  if (query) {
    const given = Object.entries(query).filter(([, value]) => value !== undefined && value !== null && value !== "");
    if (given.length) target += "?" + new URLSearchParams(given).toString();
  }
  const response = await fetch(target, { method, headers: all, body: payload, credentials: "same-origin" });
  const text = await response.text();
  let parsed = null;
  if (text) {
    try { parsed = JSON.parse(text); } catch { parsed = text; }
  }
  if (!response.ok) {
    if (response.status === 401 && !authorization && session.onSignedOut) session.onSignedOut(reasonOf(parsed));
    throw new ApiError(response.status, parsed);
  }
  return parsed;
}

export const get = (url, options) => request("GET", url, options);
export const post = (url, body, options = {}) => request("POST", url, { ...options, body });
export const put = (url, body, options = {}) => request("PUT", url, { ...options, body });
export const del = (url, options) => request("DELETE", url, options);
