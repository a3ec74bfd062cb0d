// The admin endpoints: login, the boot check, and server API commands.
// Every URL is relative to the page's own path, so that the UI works under
// any admin.handler_prefix.

/** The directory the UI is served from, ending in a slash. */
export const base = new URL('.', window.location.href.split('#')[0]).pathname;

const tokenKey = `herald.admin.token:${base}`;

/** Session state: the token, and whether the server checks tokens at all. */
export const session = {
  insecure: false,
  get token() {
    return localStorage.getItem(tokenKey) || '';
  },
  set token(t) {
    if (t) localStorage.setItem(tokenKey, t);
    else localStorage.removeItem(tokenKey);
  },
};

/** Raised by call when the server refuses the session. */
export class Unauthorized extends Error {
  constructor() {
    super('the session has expired or was refused: log in again');
    this.name = 'Unauthorized';
  }
}

const unauthorizedHandlers = new Set();

/** Registers fn to run whenever a command is refused with 401. */
export function onUnauthorized(fn) {
  unauthorizedHandlers.add(fn);
}

function headers() {
  const hd = { Accept: 'application/json' };
  if (!session.insecure && session.token) hd.Authorization = `token ${session.token}`;
  return hd;
}

/**
 * Asks the server whether a login is needed. Falls back to the settings
 * endpoint for servers without init.
 */
export async function boot() {
  let res = await fetch(`${base}admin/init`, { headers: headers() });
  if (res.status === 404) res = await fetch(`${base}admin/settings`);
  if (!res.ok) throw new Error(`admin/init: HTTP ${res.status}`);
  const v = await res.json();
  session.insecure = Boolean(v.insecure);
  return { insecure: session.insecure, authenticated: Boolean(v.authenticated) };
}

/** Logs in; true on success, false on a refused password. */
export async function login(password) {
  const form = new FormData();
  form.append('password', password);
  const res = await fetch(`${base}admin/auth`, {
    method: 'POST', headers: { Accept: 'application/json' }, body: form,
  });
  if (res.status === 400) return false;
  if (!res.ok) throw new Error(`admin/auth: HTTP ${res.status}`);
  const { token } = await res.json();
  session.token = token;
  return true;
}

/** Forgets the session token. */
export function logout() {
  session.token = '';
}

/**
 * Runs one server API command. Resolves to { request, status, reply, text,
 * ms }: reply is the parsed answer ({result} or {error}), text the raw
 * body. A 401 raises Unauthorized after telling the registered handlers.
 */
export async function command(method, params = {}) {
  const request = { method, params };
  const body = JSON.stringify(request);
  const started = performance.now();
  const res = await fetch(`${base}admin/api`, {
    method: 'POST',
    headers: { ...headers(), 'Content-Type': 'application/json' },
    body,
  });
  const text = await res.text();
  const ms = performance.now() - started;
  if (res.status === 401) {
    for (const fn of unauthorizedHandlers) fn();
    throw new Unauthorized();
  }
  let reply = null;
  try {
    reply = JSON.parse(text);
  } catch {
    // Not JSON: an HTTP-level error, shown as text.
  }
  return { request, status: res.status, reply, text, ms };
}

/** An error reply of the server API, with its code. */
export class APIError extends Error {
  constructor(code, message) {
    super(`${message} (code ${code})`);
    this.name = 'APIError';
    this.code = code;
  }
}

/** Runs a command and returns its result, raising APIError on an error. */
export async function call(method, params = {}) {
  const r = await command(method, params);
  if (r.status !== 200 || !r.reply) {
    throw new Error(`${method}: HTTP ${r.status} ${r.text.slice(0, 200)}`);
  }
  if (r.reply.error) throw new APIError(r.reply.error.code, r.reply.error.message);
  return r.reply.result || {};
}
