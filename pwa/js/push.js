// Web Push as a wake-up (R6): the push carries an alert id only; the app fetches the rest.
// Push services are third parties and unreachable on a closed network, so every failure is
// quiet: the live feed keeps working without it.

import {api} from './api.js';

const SUBSCRIBE_TIMEOUT_MS = 8000;

function keyBytes(base64url) {
  const pad = '='.repeat((4 - (base64url.length % 4)) % 4);
  const raw = atob((base64url + pad).replace(/-/g, '+').replace(/_/g, '/'));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

export function pushSupported() {
  return 'serviceWorker' in navigator && 'PushManager' in window && 'Notification' in window;
}

/**
 * Ask for permission (call from a tap), subscribe with the server's VAPID key and register
 * the subscription. Resolves to a sentence for the user; never throws.
 */
export async function enablePush(deploymentId, ask = true) {
  if (!pushSupported()) return 'This device cannot receive push notifications; the live feed is used.';
  try {
    const permission = ask ? await Notification.requestPermission() : Notification.permission;
    if (permission !== 'granted') return 'Notifications are blocked; the live feed is used.';
    let key;
    try {
      key = (await api('/api/push/vapid-public-key')).public_key;
    } catch {
      return 'Push is not set up on this server; the live feed is used.';
    }
    const registration = await navigator.serviceWorker.ready;
    const subscribing = registration.pushManager.subscribe({
      userVisibleOnly: true, applicationServerKey: keyBytes(key)});
    const timeout = new Promise((_, reject) =>
      setTimeout(() => reject(new Error('timeout')), SUBSCRIBE_TIMEOUT_MS));
    const subscription = await Promise.race([subscribing, timeout]);
    const json = subscription.toJSON();
    await api('/api/push/subscriptions', {method: 'POST', body: {
      endpoint: json.endpoint, keys: json.keys, device: navigator.userAgent.slice(0, 100),
      deployment_id: deploymentId || null}});
    return 'Push notifications are on for this device.';
  } catch {
    return 'The push service cannot be reached from here; the live feed is used.';
  }
}
