// Receipts (issue 14): an enrolled tablet tells the server that a confirmed alert reached it
// (and by which path: MQTT, Web Push or the live feed), that the officer opened it, and that
// the officer is responding, so the operator sees it per device and the other officers see
// it is taken. Each is sent once per alert and kind (the server also records a replay once);
// only ids go out, never an image (R6). A browser that is not an enrolled device sends none.

import {api} from './api.js';

const SENT_MAX = 500;
const sent = new Map();  // `${alert}:${kind}` → the request's promise
let enrolled = false;
let ready = Promise.resolve();  // the device's report of its deployment (receipts need it)
let reported = null;  // resolves `ready` at the session's first report
let livePath = () => 'feed';

/** A new session: `me` (enrolled when it has a `device_id`), how alerts come now. */
export function startReceipts(me, currentPath) {
  enrolled = Boolean(me?.device_id);
  livePath = currentPath || livePath;
  sent.clear();
  ready = new Promise((resolve) => { reported = resolve; });
}

/** Receipts wait for this: the server takes them for the deployment the device reported. */
export function receiptsAfter(promise) {
  ready = promise.catch(() => {});
  reported?.(ready);
  reported = null;
}

/**
 * Send `kind` for `alertId` once; 'opened' and 'responding' send 'delivered' first (an alert
 * listed or opened has reached the device by the live path). Resolves to the server's answer,
 * or null when this browser is no enrolled device.
 * @param {string} alertId
 * @param {'delivered'|'opened'|'responding'} kind
 * @param {'mqtt'|'webpush'|'feed'} [via] the path that brought it (delivered only)
 */
export function receipt(alertId, kind, via) {
  if (!enrolled || typeof alertId !== 'string') return Promise.resolve(null);
  const key = `${alertId}:${kind}`;
  if (sent.has(key)) return sent.get(key);
  const before = kind === 'delivered' ? ready : receipt(alertId, 'delivered');
  const body = kind === 'delivered' ? {kind, path: via || livePath()} : {kind};
  const request = before
    .then(() => api(`/api/alerts/${encodeURIComponent(alertId)}/receipts`, {method: 'POST', body}))
    .catch((err) => { sent.delete(key); throw err; });
  sent.set(key, request);
  if (sent.size > SENT_MAX) sent.delete(sent.keys().next().value);
  return request;
}

/** The deployment's receipts per confirmed alert: {alert_id → {devices, responding}}. */
export async function receiptsOf(deploymentId, alertId) {
  const query = alertId ? `?alert_id=${encodeURIComponent(alertId)}` : '';
  const rows = await api(`/api/deployments/${encodeURIComponent(deploymentId)}/receipts${query}`);
  return new Map(rows.map((r) => [r.alert_id, r]));
}

/** "Taken: A, B responding", or '' when no one is responding yet. */
export function takenText(view) {
  return view?.responding?.length ? `Taken: ${view.responding.join(', ')} responding` : '';
}
