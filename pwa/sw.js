// Pinchpoint service worker: the offline app shell, and Web Push as a wake-up (R6).
//
// Only the shell files below are ever cached. API calls (/api/…) are not intercepted at all:
// they go to the network as if there were no service worker, and alert images — which come
// only from the authenticated API with Cache-Control: no-store — are never stored (R24).

// The vendored MQTT.js bundle (/vendor/…) is not in the shell and so never cached: it is
// fetched from the server with the page, so it can never outlive the app's version (MQTT
// needs the network anyway; offline, the app says so and waits).
const VERSION = 'pinchpoint-shell-v11';  // and pwa/js/version.js
const SHELL = [
  '/', '/index.html', '/manifest.webmanifest', '/css/app.css',
  '/js/app.js', '/js/api.js', '/js/dom.js', '/js/feed.js', '/js/alert_stream.js',
  '/js/mqtt_feed.js', '/js/alarm.js', '/js/push.js', '/js/forget.js', '/js/version.js',
  '/js/receipts.js', '/js/pick.js',
  '/js/views/login.js', '/js/views/officer.js', '/js/views/alert.js', '/js/views/console.js',
  '/js/views/health.js', '/js/views/deployments.js', '/js/views/deployment.js',
  '/js/views/users.js', '/js/views/record.js', '/js/views/devices.js',
  '/js/views/walkpasts.js', '/js/views/placement.js', '/js/views/force.js',
  '/icons/icon-192.png', '/icons/icon-512.png', '/icons/maskable-512.png',
];
const SHELL_PATHS = new Set(SHELL);

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(VERSION);
    await cache.addAll(SHELL.map((path) => new Request(path, {cache: 'reload'})));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const key of await caches.keys()) if (key !== VERSION) await caches.delete(key);
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== self.location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/schema')) return;  // network only
  const navigation = request.mode === 'navigate';
  if (!navigation && !SHELL_PATHS.has(url.pathname)) return;
  // network first (a new version is picked up at once), the cached shell when offline
  event.respondWith((async () => {
    const key = navigation ? '/index.html' : url.pathname;
    try {
      const response = await fetch(request);
      if (response.ok && response.type === 'basic') {
        const copy = response.clone();
        caches.open(VERSION).then((cache) => cache.put(key, copy)).catch(() => {});
      }
      return response;
    } catch (err) {
      const cached = await caches.match(key, {ignoreSearch: true});
      if (cached) return cached;
      throw err;
    }
  })());
});

/** The notification for a push: names no person and no reference, only that an alert came
 * in and (when the API answers) its category. The payload itself is {alert_id, seq} (R6). */
const CATEGORIES = {wanted: 'Wanted', risk_of_harm: 'Risk of harm', area_condition: 'Area condition',
                    vulnerable_missing: 'Vulnerable / missing'};

async function categoryOf(alertId) {
  try {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 3000);
    const r = await fetch(`/api/alerts/${encodeURIComponent(alertId)}`,
                          {credentials: 'same-origin', cache: 'no-store', signal: controller.signal});
    clearTimeout(timer);
    if (!r.ok) return null;
    return CATEGORIES[(await r.json()).category] || null;
  } catch {
    return null;
  }
}

function openUrl(alertId) {
  return alertId ? `/#/alerts/${encodeURIComponent(alertId)}` : '/#/alerts';
}

async function showAlert(payload) {
  const alertId = typeof payload.alert_id === 'string' ? payload.alert_id : null;
  const category = alertId ? await categoryOf(alertId) : null;
  await self.registration.showNotification('New confirmed alert', {
    body: category ? `Category: ${category}. Open Pinchpoint to see it.` : 'Open Pinchpoint to see it.',
    tag: alertId ? `alert-${alertId}` : 'alert',
    renotify: true,
    requireInteraction: true,
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    data: {alert_id: alertId, url: openUrl(alertId)},
  });
  for (const client of await self.clients.matchAll({type: 'window'})) {
    client.postMessage({type: 'push', alert_id: alertId});
  }
}

self.addEventListener('push', (event) => {
  let payload = {};
  try { payload = event.data ? event.data.json() : {}; } catch { payload = {}; }
  event.waitUntil(showAlert(payload || {}));
});

/** Open (or focus) the app on the alert; the app shows the login first when needed. */
async function openAlert(notification) {
  const url = new URL((notification.data && notification.data.url) || '/#/alerts', self.location.origin).href;
  const windows = await self.clients.matchAll({type: 'window', includeUncontrolled: true});
  const mine = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (mine) {
    mine.postMessage({type: 'open', url});
    try { await mine.focus(); } catch { /* focusing needs a real tap; the message suffices */ }
    return mine;
  }
  return self.clients.openWindow(url);
}

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const done = openAlert(event.notification);
  try { event.waitUntil(done); } catch { /* a synthetic event (tests) cannot extend its life */ }
});
