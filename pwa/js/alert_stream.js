// How alerts reach the officer's app: MQTT over WebSockets when the broker is reachable, the
// live feed (SSE, /api/feed) as the fallback, and one code path for "an alert arrived"
// whichever brought it (an alert that comes both ways shows once: deduplicated by id).
//
// The feed is opened only while MQTT is not up: at once when MQTT cannot start (not set up
// on this server, client bundle missing, no live deployment, broker unreachable), and after
// LOST_MS when an MQTT connection that was up is lost; it is closed again when MQTT is back.

import {api, ApiError} from './api.js';
import {followed} from './pick.js';
import {openFeed} from './feed.js';
import {loadMqtt, openMqtt} from './mqtt_feed.js';

// A broker restart or a Wi-Fi hand-over is back within a couple of seconds; longer than this
// and the officer would miss alerts, so the feed takes over.
const LOST_MS = 3000;
const RETRY_MS = 10000;  // asking again for a login the broker refused or could not make
const SEEN_MAX = 500;

export const PATH_TEXT = {
  mqtt: 'Alerts via MQTT',
  unreachable: 'Alerts via live feed (broker unreachable)',
  unconfigured: 'Alerts via live feed',
  missing: 'Alerts via live feed (MQTT client not installed)',
};

/**
 * @param {{alert: Function, resync: Function, open: Function}} handlers  alert(data, via)
 * @param {(state: string, text: string) => void} onStatus  for the status line
 * @param {() => Promise<boolean>} stillLoggedIn
 * @returns {() => void} close
 */
export function openAlertStream(handlers, onStatus, stillLoggedIn) {
  let closed = false;
  let closeFeed = null;
  let closeMqtt = null;
  let reason = 'unreachable';
  let lostTimer = 0;
  let retryTimer = 0;
  let everUp = false;
  const seen = [];

  // `via`: the path that brought it first (the device's receipt says so)
  const arrived = (data, via) => {
    if (typeof data?.alert_id !== 'string' || seen.includes(data.alert_id)) return;
    seen.push(data.alert_id);
    if (seen.length > SEEN_MAX) seen.shift();
    handlers.alert(data, via);
  };

  const feedStatus = (state) => {
    onStatus(state, state === 'live' ? PATH_TEXT[reason] : '');
  };
  const useFeed = (why) => {
    reason = why;
    if (closed) return;
    if (closeFeed) { onStatus('live', PATH_TEXT[reason]); return; }
    closeFeed = openFeed({alert: (d) => arrived(d, 'feed'), resync: handlers.resync,
                          open: handlers.open},
                         feedStatus, stillLoggedIn);
  };
  const stopFeed = () => { closeFeed?.(); closeFeed = null; };

  const start = async () => {
    if (closed) return;
    const lib = await loadMqtt();
    if (!lib) { useFeed('missing'); return; }
    let deployment;
    let login;
    try {
      ({deployment} = await followed());  // the one picked on this device (pick.js)
      if (!deployment) { useFeed('unconfigured'); return; }
      login = await api('/api/mqtt/credentials', {method: 'POST',
                                                   body: {deployment_id: deployment.id}});
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) { useFeed('unconfigured'); return; }
      if (err instanceof ApiError && err.status === 401) return;  // logged out: app.js acts
      useFeed('unreachable');
      retryTimer = setTimeout(start, RETRY_MS);
      return;
    }
    if (closed) return;
    closeMqtt = openMqtt(lib, login, deployment.id, {
      alert: (d) => arrived(d, 'mqtt'),
      up: () => {
        everUp = true;
        clearTimeout(lostTimer);
        lostTimer = 0;
        const wasFeed = closeFeed !== null;
        stopFeed();
        onStatus('live', PATH_TEXT.mqtt);
        if (wasFeed) handlers.open?.();  // refetch: nothing missed in the switch
      },
      down: () => {
        if (closeFeed || lostTimer) return;
        if (!everUp) { useFeed('unreachable'); return; }  // could not connect at all
        onStatus('reconnecting', 'Alerts via MQTT: reconnecting…');
        lostTimer = setTimeout(() => { lostTimer = 0; useFeed('unreachable'); }, LOST_MS);
      },
      refused: () => {
        closeMqtt?.();
        closeMqtt = null;
        useFeed('unreachable');
        retryTimer = setTimeout(start, RETRY_MS);
      },
    });
  };

  start();
  return () => {
    closed = true;
    clearTimeout(lostTimer);
    clearTimeout(retryTimer);
    closeMqtt?.();
    stopFeed();
  };
}
