// Alerts over MQTT over WebSockets (R6, issue 14): the vendored MQTT.js bundle (built into
// /vendor/mqtt/ by scripts/vendor_pwa.sh, never from a CDN), this session's broker login from
// POST /api/mqtt/credentials, one subscription to the deployment's alert topic. A message
// holds ids and short-lived signed links only (sink.mqtt), never an image or a name.

const BUNDLE = '/vendor/mqtt/mqtt.esm.js';
// MQTT 3.1.1 CONNACK 4/5 and MQTT 5 0x86/0x87: the login is wrong or revoked.
const REFUSED = new Set([4, 5, 134, 135]);

/** The MQTT.js module, or null when the bundle is not installed (the caller says so). */
export async function loadMqtt() {
  try {
    const mod = await import(BUNDLE);
    const lib = mod.default && typeof mod.default.connect === 'function' ? mod.default : mod;
    return typeof lib.connect === 'function' ? lib : null;
  } catch (err) {
    console.error(`MQTT client missing at ${BUNDLE} (run scripts/vendor_pwa.sh):`, err);
    return null;
  }
}

/**
 * Connect and subscribe; reconnects by itself (every 2 s) until closed.
 * @param {object} lib  MQTT.js
 * @param {{ws_url: string, username: string, password: string, client_id: string,
 *          topic: string}} login
 * @param {string} deploymentId  the topic's deployment, added to each notice
 * @param {{alert: (data: object) => void, up: () => void, down: () => void,
 *          refused: (why: string) => void}} on
 * @returns {() => void} close
 */
export function openMqtt(lib, login, deploymentId, on) {
  let closed = false;
  const client = lib.connect(login.ws_url, {
    username: login.username, password: login.password, clientId: login.client_id,
    protocolVersion: 4,
    // a persistent session: QoS-1 notices sent while the tablet was out of range arrive
    // when it is back (the broker keeps them; deploy/mosquitto), repeats are dropped by id
    clean: false, reconnectPeriod: 2000, connectTimeout: 4000, keepalive: 10,
    // MQTT.js's default keep-alive timer runs in a blob: Worker, which the CSP (script-src
    // 'self', no worker-src) rightly blocks; the page's own timers do (a hidden tab's are
    // throttled, so a backgrounded app may miss a ping: the broker drops it and it reconnects)
    timerVariant: 'native',
  });
  client.on('connect', () => {
    client.subscribe(login.topic, {qos: 1}, (err, granted) => {
      if (closed) return;
      // MQTT.js answers [] without asking the broker when it holds the subscription already
      // (a reconnect into the persistent session; when the broker lost the session, MQTT.js
      // subscribes again by itself): that is up, not refused. Taking it for a refusal kept
      // the app on the live feed for RETRY_MS after every broker restart (11 s, measured).
      if (err || granted?.some((g) => g.qos === 128)) {
        on.refused('the broker refused the subscription');
        return;
      }
      on.up();
    });
  });
  client.on('message', (topic, payload) => {
    if (topic !== login.topic) return;
    let data;
    try { data = JSON.parse(new TextDecoder().decode(payload)); } catch { return; }
    if (!data || typeof data.alert_id !== 'string') return;
    on.alert({...data, deployment_id: deploymentId});
  });
  client.on('close', () => { if (!closed) on.down(); });
  client.on('error', (err) => {
    if (!closed && REFUSED.has(err?.code)) on.refused(err.message || 'login refused');
  });
  return () => {
    closed = true;
    client.end(true);
  };
}
