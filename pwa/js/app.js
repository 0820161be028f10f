// Pinchpoint PWA: boot, session, role-based home and the hash router.

import {api, ApiError, liveDeployments, setCsrf, whenUnauthorised} from './api.js';
import {followed, keep, onPick, pickedId} from './pick.js';
import {h, put} from './dom.js';
import {renderLogin} from './views/login.js';
import {renderOfficer} from './views/officer.js';
import {renderAlert} from './views/alert.js';
import {renderConsole} from './views/console.js';
import {renderDeployments, renderNewDeployment} from './views/deployments.js';
import {renderDeployment} from './views/deployment.js';
import {renderRecord} from './views/record.js';
import {renderUsers} from './views/users.js';
import {renderDevices} from './views/devices.js';
import {renderPlacement} from './views/placement.js';
import {renderForce} from './views/force.js';
import {setMuted, sound} from './alarm.js';
import {openAlertStream, PATH_TEXT} from './alert_stream.js';
import {forgetAlerts} from './forget.js';
import {receipt, receiptsAfter, startReceipts} from './receipts.js';
import {APP_VERSION} from './version.js';

const ALL = ['officer', 'operator', 'technical', 'commander', 'admin'];
const STAFF = ['operator', 'technical', 'commander', 'admin'];
const ROUTES = [
  [/^#\/alerts$/, renderOfficer, ['officer'], 'Alerts'],
  [/^#\/alerts\/([\w.-]+)$/, renderAlert, ['officer', 'operator', 'commander'], 'Alert'],
  [/^#\/console$/, renderConsole, ['operator'], 'Operator console'],
  [/^#\/deployments$/, renderDeployments, STAFF, 'Deployments'],
  [/^#\/deployments\/new$/, renderNewDeployment, ['commander'], 'New deployment'],
  [/^#\/deployments\/([\w.-]+)\/record$/, renderRecord, ['technical', 'commander', 'admin'],
   'Deployment record'],
  [/^#\/deployments\/([\w.-]+)$/, renderDeployment, STAFF, 'Deployment'],
  [/^#\/users$/, renderUsers, ['admin'], 'Users'],
  [/^#\/devices$/, renderDevices, ['technical', 'admin'], 'Devices'],
  [/^#\/placement$/, renderPlacement, ['technical', 'admin'], 'Camera placement'],
  [/^#\/force$/, renderForce, ['technical', 'commander', 'admin'], 'Force-wide view'],
];
const NAV = {
  officer: [['#/alerts', 'Alerts']],
  operator: [['#/console', 'Console'], ['#/deployments', 'Deployments']],
  technical: [['#/deployments', 'Deployments'], ['#/force', 'Force'], ['#/devices', 'Devices'], ['#/placement', 'Camera placement']],
  commander: [['#/deployments', 'Deployments'], ['#/force', 'Force'], ['#/deployments/new', 'New deployment']],
  admin: [['#/users', 'Users'], ['#/devices', 'Devices'], ['#/deployments', 'Deployments'], ['#/force', 'Force'], ['#/placement', 'Camera placement']],
};
const HOME = {officer: '#/alerts', operator: '#/console', technical: '#/deployments',
              commander: '#/deployments', admin: '#/users'};

const main = document.getElementById('main');
const statusEl = document.getElementById('status');
const flash = document.getElementById('flash');
const state = {me: null, next: null, cleanup: null};
// Officers keep one live feed for the whole session, so an alert is heard on every screen;
// the alert list subscribes to it, other screens show the "New alert" link in the top bar.
const feed = {close: null, state: '', text: '', reported: '', deployment: null,
              handlers: {alert: new Set(), resync: new Set(), open: new Set()}};
// How often an officer's app checks which deployments are live: one that ended or was wiped
// takes its alerts off the device (forget.js) within this long, whichever path brings alerts.
const WATCH_MS = 5000;
const watch = {timer: 0, live: null};

const ctx = {
  get me() { return state.me; },
  main,
  setStatus(value, text) {
    statusEl.dataset.state = value || '';
    statusEl.textContent = text ?? ({live: 'Live', reconnecting: 'Reconnecting…',
                                      offline: 'Offline'}[value] || '');
  },
  go(hash) { if (location.hash === hash) route(); else location.hash = hash; },
  async stillLoggedIn() {
    try { await api('/api/auth/me', {quiet401: true}); return true; } catch (err) {
      if (err instanceof ApiError && err.status === 401) { loggedOut(); return false; }
      return true;
    }
  },
  loggedIn(me) {
    state.me = me;
    setCsrf(me.csrf_token);
    renderChrome();
    startFeed();
    const next = state.next;
    state.next = null;
    ctx.go(next && next !== '#/login' ? next : HOME[me.role]);
  },
  home: () => HOME[state.me?.role] || '#/login',
  /** Listen to the officer's feed (`alert`, `resync`, `open`); returns the unsubscribe. */
  subscribe(kind, fn) {
    feed.handlers[kind].add(fn);
    return () => feed.handlers[kind].delete(fn);
  },
};

function dispatch(kind, data) {
  const handlers = [...feed.handlers[kind]];
  for (const fn of handlers) fn(data);
  if (kind === 'alert' && !handlers.length) {
    flash.href = `#/alerts/${encodeURIComponent(data.alert_id)}`;
    flash.textContent = 'New alert — open';
    flash.classList.remove('hidden');
    sound();
  }
}

function startFeed() {
  stopFeed();
  if (state.me?.role !== 'officer') return;
  startReceipts(state.me, () => (feed.text === PATH_TEXT.mqtt ? 'mqtt' : 'feed'));
  // the deployment picked on this device (pick.js) when several are live: the live feed
  // carries every live deployment's alerts, MQTT the followed one's only
  followed().then(({deployment}) => { feed.deployment = deployment?.id || null; })
    .catch(() => { /* offline: the watch comes back */ });
  // MQTT over WebSockets, the live feed as the fallback; the status line says which is live
  feed.close = openAlertStream({
    alert: (d, via) => {
      if (feed.deployment && d.deployment_id && d.deployment_id !== feed.deployment) return;
      receipt(d.alert_id, 'delivered', via).catch(() => { /* the list retries */ });
      dispatch('alert', d);
    },
    resync: (d) => dispatch('resync', d),
    open: () => dispatch('open', {}),
  }, (value, text) => {
    feed.state = value;
    feed.text = text || '';
    ctx.setStatus(value, feed.text || undefined);
    if (value === 'live') report(feed.text === PATH_TEXT.mqtt ? 'mqtt' : 'feed');
  }, ctx.stillLoggedIn);
  watchDeployments();
}

/** An enrolled tablet tells the device list how it takes its alerts now, and the server
 * which live deployment's alerts it takes (its receipts are accepted for those). */
function report(delivery) {
  if (!state.me?.device_id) return;
  const sending = (async () => {
    const {deployment} = await followed();
    const key = `${delivery}:${deployment?.id || ''}`;
    if (feed.reported === key) return;
    feed.reported = key;
    await api('/api/devices/current', {method: 'PUT', body: {
      delivery, app_version: APP_VERSION, ...(deployment ? {deployment_id: deployment.id} : {})}});
  })().catch((err) => { feed.reported = ''; throw err; });
  receiptsAfter(sending);
}

/** Officers: when a deployment that was live is not any more (ended or wiped), its alerts
 * leave the device: stored traces are dropped, the alert stream and the screens start over. */
async function watchDeployments() {
  clearTimeout(watch.timer);
  if (state.me?.role !== 'officer') return;
  let live;
  try { live = (await liveDeployments()).map((d) => d.id); } catch {
    live = null;  // offline, or logged out (api.js then calls loggedOut)
  }
  if (state.me?.role !== 'officer') return;
  if (live) {
    const ended = watch.live && watch.live.some((id) => !live.includes(id));
    const began = watch.live && live.some((id) => !watch.live.includes(id));
    watch.live = live;
    if (ended) {
      const picked = pickedId();
      await forgetAlerts();
      keep(picked, live);  // web storage went with the alerts; a pick still live stays
      if (location.hash.startsWith('#/alerts/')) ctx.go('#/alerts');
    }
    if (ended || began) {
      startFeed();  // the stream's topic is the live deployment's; this restarts the watch
      dispatch('resync', {});
      return;
    }
  }
  watch.timer = setTimeout(watchDeployments, WATCH_MS);
}

function stopFeed() {
  startReceipts(null);
  feed.close?.();
  feed.close = null;
  feed.state = '';
  feed.text = '';
  feed.deployment = null;
  flash.classList.add('hidden');
  clearTimeout(watch.timer);
}

function loggedOut() {
  if (state.me === null && location.hash.startsWith('#/login')) return;
  state.me = null;
  setCsrf('');
  stopFeed();
  forgetSession(true);  // ended elsewhere: expired, disabled, or the device was revoked
  if (!location.hash.startsWith('#/login')) state.next = location.hash || null;
  renderChrome();
  ctx.go('#/login');
}
whenUnauthorised(loggedOut);
// An officer picked another live deployment: its alerts, by MQTT or the feed, from now on.
onPick(() => {
  if (state.me?.role !== 'officer') return;
  feed.reported = '';
  startFeed();
  dispatch('resync', {});
});

function renderChrome() {
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  const me = state.me;
  put(nav, ...(me ? NAV[me.role] : []).map(([href, text]) =>
    h('a', {href, text, 'aria-current': location.hash === href ? 'page' : null})));
  if (!me) { put(who); ctx.setStatus(''); return; }
  put(who, h('span', {text: `${me.user} (${me.role})`}),
      h('button', {type: 'button', text: 'Log out', onclick: logout}));
}

async function logout() {
  try { await api('/api/auth/logout', {method: 'POST'}); } catch { /* gone anyway */ }
  state.next = null;
  state.me = null;
  setCsrf('');
  stopFeed();
  forgetSession(false);  // the officer's own logout: a notification's tap still leads back
  renderChrome();
  ctx.go('#/login');
}

/** The session ended (logout, expiry, a revoked device): nothing of its alerts stays but,
 * after the officer's own logout, the notifications (they name no one, R6). */
function forgetSession(notifications) {
  watch.live = null;
  setMuted(false);  // the next officer on this tablet starts with the alarm on
  feed.reported = '';
  main.replaceChildren();
  forgetAlerts({notifications});
}

async function route() {
  state.cleanup?.();
  state.cleanup = null;
  const hash = location.hash || '#/';
  for (const a of document.querySelectorAll('#nav a')) {
    a.setAttribute('aria-current', a.getAttribute('href') === hash ? 'page' : 'false');
  }
  if (hash.startsWith('#/login') || !state.me) {
    if (!state.me) {
      if (!hash.startsWith('#/login') && hash !== '#/') state.next = hash;
      document.title = 'Log in — Pinchpoint';
      state.cleanup = renderLogin(main, ctx);
      return;
    }
    ctx.go(ctx.home());
    return;
  }
  for (const [pattern, view, roles, title] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    if (!roles.includes(state.me.role)) break;
    document.title = `${title} — Pinchpoint`;
    ctx.setStatus(feed.state, feed.text || undefined);  // the operator's console sets its own
    if (hash === '#/alerts' || hash === flash.getAttribute('href')) flash.classList.add('hidden');
    main.replaceChildren();
    state.cleanup = view(main, match.slice(1), ctx) || null;
    main.focus({preventScroll: true});
    return;
  }
  ctx.go(ctx.home());
}

function offline() {
  put(main, h('section', {class: 'panel', 'aria-labelledby': 'off-h'},
    h('h1', {id: 'off-h', text: 'Offline'}),
    h('p', {text: 'The server cannot be reached. The app will reconnect when the network is back; '
                 + 'alerts are only shown while connected.'}),
    h('button', {type: 'button', class: 'primary', text: 'Try again', onclick: boot})));
  ctx.setStatus('offline');
}

async function boot() {
  try {
    state.me = await api('/api/auth/me', {quiet401: true});
    setCsrf(state.me.csrf_token);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status === 0) { offline(); return; }
    state.me = null;
  }
  renderChrome();
  if (state.me) startFeed();
  route();
}

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('/sw.js', {scope: '/'}).catch(() => { /* no offline shell */ });
  // a notification was tapped: the service worker asks this window to open the alert
  navigator.serviceWorker.addEventListener('message', (event) => {
    const msg = event.data || {};
    // a Web Push woke the device: that path delivered the alert (if it came first)
    if (msg.type === 'push' && state.me?.role === 'officer') {
      receipt(msg.alert_id, 'delivered', 'webpush').catch(() => { /* the list retries */ });
    }
    if (msg.type === 'open' && typeof msg.url === 'string') {
      const target = new URL(msg.url, location.origin);
      if (target.origin === location.origin) ctx.go(target.hash || '#/');
    }
  });
}
addEventListener('hashchange', route);
addEventListener('online', () => { if (!state.me) boot(); });
boot();
