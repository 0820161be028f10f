// Alerts leave the device (issue 14, R24): when the deployment the officer was shown ends or
// is wiped, and when the session ends (logout, expiry, a revoked device), the app drops
// every trace of alert data it can reach: Cache Storage entries that are not the app shell
// (and any /api/ response found in the shell's cache), every IndexedDB database, web storage,
// and the notifications the service worker showed (kept at the officer's own logout only). The app itself stores alerts nowhere but
// the page (the service worker never caches /api/, the API answers no-store); this also
// clears what an older build, a future offline list or anything else put there.

const SHELL_PREFIX = 'pinchpoint-shell-';
const NOT_SHELL = ['/api/', '/schema', '/vendor/'];

function deleteDatabase(name) {
  return new Promise((done) => {
    const request = indexedDB.deleteDatabase(name);
    // `blocked`: another tab holds it open; it goes once that closes. Never wait for that.
    request.onsuccess = request.onerror = request.onblocked = () => done();
  });
}

async function forgetCaches() {
  if (!('caches' in self)) return;
  for (const key of await caches.keys()) {
    if (!key.startsWith(SHELL_PREFIX)) { await caches.delete(key); continue; }
    const cache = await caches.open(key);
    for (const request of await cache.keys()) {
      const url = new URL(request.url);
      if (url.search || NOT_SHELL.some((p) => url.pathname.startsWith(p))) await cache.delete(request);
    }
  }
}

async function forgetDatabases() {
  if (!('indexedDB' in self) || typeof indexedDB.databases !== 'function') return;
  for (const db of await indexedDB.databases()) if (db.name) await deleteDatabase(db.name);
}

async function forgetNotifications() {
  if (!('serviceWorker' in navigator)) return;
  const registration = await navigator.serviceWorker.getRegistration();
  if (!registration) return;
  for (const note of await registration.getNotifications()) note.close();
}

/** Drop every stored trace of alerts on this device; never throws. ``notifications``: close
 * the service worker's notifications too (they name no one, R6: after the officer's own
 * logout a tap on one still leads to the alert through the login). */
export async function forgetAlerts({notifications = true} = {}) {
  const steps = [forgetCaches, forgetDatabases, ...(notifications ? [forgetNotifications] : [])];
  for (const step of steps) {
    try { await step(); } catch (err) { console.error('forgetting alert data:', err); }
  }
  try { sessionStorage.clear(); localStorage.clear(); } catch { /* storage disabled */ }
}
