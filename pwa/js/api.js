// The API client: session cookie (HttpOnly, SameSite=Strict) + CSRF token in X-CSRF-Token.
// The token comes from POST /api/auth/login or GET /api/auth/me and lives in memory only.

let csrf = '';
let onUnauthorised = () => {};

export class ApiError extends Error {
  constructor(status, detail, data) {
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.data = data;
  }
}

export function setCsrf(token) { csrf = token || ''; }
export function whenUnauthorised(fn) { onUnauthorised = fn; }

/** fetch JSON from the API. `body` is sent as JSON, `form` as multipart. 204 → null. */
export async function api(path, {method = 'GET', body, form, signal, quiet401 = false} = {}) {
  const headers = {Accept: 'application/json'};
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') headers['X-CSRF-Token'] = csrf;
  let response;
  try {
    response = await fetch(path, {method, headers, body: payload, signal,
                                  credentials: 'same-origin', cache: 'no-store'});
  } catch (err) {
    if (err.name === 'AbortError') throw err;
    throw new ApiError(0, 'The server cannot be reached (offline?)');
  }
  if (response.status === 204) return null;
  let data = null;
  const type = response.headers.get('content-type') || '';
  if (type.includes('json')) data = await response.json().catch(() => null);
  if (!response.ok) {
    if (response.status === 401 && !quiet401) onUnauthorised();
    const detail = data && typeof data.detail === 'string' ? data.detail : `HTTP ${response.status}`;
    throw new ApiError(response.status, detail, data);
  }
  return data;
}

/** The deployments that are live now, newest first. */
export async function liveDeployments() {
  const all = await api('/api/deployments');
  return all.filter((d) => d.state === 'live')
    .sort((a, b) => (b.live_at || '').localeCompare(a.live_at || ''));
}
