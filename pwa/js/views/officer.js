// Officers' view (R5, R6): the confirmed alerts of the live deployment (the one picked on
// this device when several are live, pick.js; app.js follows a new pick), newest first, live
// over MQTT or the SSE feed, with sound and vibration on arrival (a mute toggle, audited:
// issue 14). New cards go in at the top; the banner's space is always reserved and every card
// has a fixed height, so nothing under the officer's finger moves except by the browser's
// scroll anchoring. Each card says where and how long ago the person was seen, kept current.

import {api} from '../api.js';
import {followed, picker} from '../pick.js';
import {h, put, shot, categoryBadge, categoryLabel, clock, outcomeLabel, message, say} from '../dom.js';
import {isMuted, setMuted, sound} from '../alarm.js';
import {enablePush, pushSupported} from '../push.js';
import {receipt, receiptsOf, takenText} from '../receipts.js';

// How often the list asks who is responding (another officer took an alert).
const TAKEN_MS = 3000;
// How often the cards' "… seconds ago" is brought up to date.
const AGE_MS = 1000;

/** "12 seconds ago", "3 minutes ago", "1 h 5 min ago" since `iso` (never in the future: the
 * tablet's clock may run a little behind the server's). */
export function ago(iso, now = Date.now()) {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} second${s === 1 ? '' : 's'} ago`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} minute${m === 1 ? '' : 's'} ago`;
  return `${Math.floor(m / 60)} h ${m % 60} min ago`;
}

/** "Seen at camera gate-1, 12 seconds ago". The alert names its camera by id: the
 * deployment's cameras carry no other label yet. */
export const seenText = (alert, now = Date.now()) =>
  `Seen at camera ${alert.camera_id}, ${ago(alert.captured_at, now)}`;

export function card(alert, fresh = false) {
  const outcome = alert.outcome ? outcomeLabel(alert.outcome) : 'Outcome needed';
  const label = `${categoryLabel(alert.category)} alert, camera ${alert.camera_id}, `
    + `${clock(alert.captured_at)}, ${outcome}`;
  return h('li', {dataset: {id: alert.id}},
    h('a', {class: `card${fresh ? ' new' : ''}`, href: `#/alerts/${alert.id}`, 'aria-label': label},
      shot(alert.images.torso, `Upper-torso image from camera ${alert.camera_id}`),
      shot(alert.images.face, `Face seen by camera ${alert.camera_id}`),
      shot(alert.images.watchlist, 'Watch-list photo'),
      h('div', {class: 'meta'},
        categoryBadge(alert.category),
        h('span', {class: 'seen', dataset: {captured: alert.captured_at, camera: alert.camera_id},
                   text: seenText(alert)}),
        h('span', {class: 'time', text: clock(alert.captured_at)}),
        h('span', {class: alert.outcome ? '' : 'outcome-needed', text: outcome}),
        h('span', {class: 'taken', 'aria-live': 'polite'}))));
}

export function renderOfficer(main, _params, ctx) {
  let deployment = null;
  let loading = null;
  const title = h('h1', {id: 'alerts-h', text: 'Confirmed alerts'});
  const where = h('p', {class: 'where', text: 'Looking for the live deployment…'});
  const choice = picker();
  const banner = h('div', {class: 'banner', role: 'status', 'aria-live': 'assertive',
                           text: 'Waiting for alerts. New ones appear at the top.'});
  const list = h('ol', {class: 'alerts', 'aria-labelledby': 'alerts-h'});
  const empty = h('p', {class: 'panel', text: 'No confirmed alerts yet.'});
  const pushMsg = message();
  const pushButton = h('button', {type: 'button', text: 'Turn on notifications',
    onclick: async () => {
      pushButton.disabled = true;
      say(pushMsg, 'Setting up notifications…');
      say(pushMsg, await enablePush(deployment?.id));
    }});
  if (!pushSupported()) pushButton.classList.add('hidden');
  // The alarm's mute: recorded on the server first (audited, R19); only then is it silent.
  const alarmMsg = message();
  const alarmButton = h('button', {type: 'button', id: 'alarm-mute', class: 'alarm',
    onclick: async () => {
      const next = !isMuted();
      alarmButton.disabled = true;
      try {
        await api('/api/devices/current/alarm', {method: 'POST', body: {muted: next}});
        setMuted(next);
        say(alarmMsg, next ? 'Alarm muted: new alerts still show, silently.' : 'Alarm on.', 'ok');
      } catch (err) {
        say(alarmMsg, `Not changed: ${err.message}`, 'error');
      } finally {
        alarmButton.disabled = false;
        showAlarm();
      }
    }});
  const showAlarm = () => {
    const m = isMuted();
    alarmButton.textContent = m ? 'Alarm muted — turn sound on' : 'Alarm on — mute';
    alarmButton.setAttribute('aria-pressed', String(m));
    alarmButton.classList.toggle('muted', m);
  };
  showAlarm();
  main.append(h('section', {'aria-labelledby': 'alerts-h'}, title, where, choice.el,
    h('div', {class: 'row'}, pushButton, pushMsg), h('div', {class: 'row'}, alarmButton, alarmMsg),
    banner, empty, list));
  if (pushSupported() && Notification.permission === 'granted') {
    pushButton.classList.add('hidden');
    enablePush(null, false).then((text) => say(pushMsg, text));
  }

  const showEmpty = () => empty.classList.toggle('hidden', list.children.length > 0);

  async function load() {
    if (loading) return loading;
    loading = (async () => {
      const {live, deployment: followedNow} = await followed();
      choice.update(live, followedNow);
      if (followedNow?.id !== deployment?.id) list.replaceChildren();  // another one picked
      deployment = followedNow;
      if (!deployment) {
        where.textContent = 'No deployment is live.';
        list.replaceChildren();
        showEmpty();
        return;
      }
      where.textContent = `${deployment.name} — ${deployment.location}`;
      const rows = await api(`/api/alerts?deployment_id=${encodeURIComponent(deployment.id)}`);
      rows.sort((a, b) => b.captured_at.localeCompare(a.captured_at));
      // listed on this device: it reached it (by the path that is live)
      for (const a of rows) receipt(a.id, 'delivered').catch(() => {});
      const known = new Set([...list.children].map((li) => li.dataset.id));
      if (rows.length === known.size && rows.every((a) => known.has(a.id))) return;
      put(list, ...rows.map((a) => card(a)));
      showEmpty();
      await taken();
    })().catch((err) => { where.textContent = `Could not load alerts: ${err.message}`; })
      .finally(() => { loading = null; });
    return loading;
  }

  async function arrived(data) {
    if (!deployment || data.deployment_id !== deployment.id) { await load(); return; }
    if (list.querySelector(`[data-id="${CSS.escape(data.alert_id)}"]`)) return;
    let alert;
    try { alert = await api(`/api/alerts/${encodeURIComponent(data.alert_id)}`); } catch { return; }
    if (list.querySelector(`[data-id="${CSS.escape(alert.id)}"]`)) return;
    if (alert.seen_again) { await seenAgain(alert); return; }
    insertSteady(card(alert, true));
    showEmpty();
    banner.textContent = `New confirmed alert: ${categoryLabel(alert.category)}, camera `
      + `${alert.camera_id} at ${clock(alert.captured_at)}`;
    banner.classList.add('fresh');
    sound();
  }

  /** A later sighting of a person already alerted, confirmed by the operator (issue 15): an
   * update of that alert's card, never a card of its own. Whether it came over the feed or
   * MQTT (whose payload has ids only), the sightings route names the alert it updates. */
  async function seenAgain(sighting) {
    let seen;
    try { seen = await api(`/api/alerts/${encodeURIComponent(sighting.id)}/sightings`); } catch { return; }
    const lead = seen.find((x) => !x.seen_again);
    const li = lead && list.querySelector(`[data-id="${CSS.escape(lead.id)}"]`);
    const text = `Seen again at camera ${sighting.camera_id}, ${clock(sighting.captured_at)}`;
    if (li) {
      let line = li.querySelector('.seen-again');
      if (!line) {
        line = h('span', {class: 'seen-again'});
        li.querySelector('.meta').append(line);
      }
      line.textContent = text;
      li.dataset.sightings = String(seen.length);
    } else {
      await load();
    }
    banner.textContent = `${categoryLabel(sighting.category)}: ${text}`;
    banner.classList.add('fresh');
    sound();
  }

  /** Prepend a card without moving what the officer is on: when focus is in the list, the
   * page scrolls by the new card's height (the browser's scroll anchoring does the same
   * when the page is already scrolled; this also covers the top of the page). */
  function insertSteady(li) {
    const focused = list.contains(document.activeElement) ? document.activeElement : null;
    const before = focused?.getBoundingClientRect().top;
    list.prepend(li);
    if (!focused) return;
    const delta = focused.getBoundingClientRect().top - before;
    if (Math.abs(delta) < 0.5) return;
    // make room below when the page is too short to scroll that far (a few passes: the
    // page's own minimum height hides part of the first one)
    const root = document.documentElement;
    for (let i = 0; i < 5 && root.scrollHeight < scrollY + delta + innerHeight; i += 1) {
      const more = scrollY + delta + innerHeight - root.scrollHeight;
      list.style.paddingBottom = `${(parseFloat(list.style.paddingBottom) || 0) + more}px`;
    }
    scrollBy(0, delta);
  }

  /** Mark the cards another officer (or this one) is responding to. */
  async function taken() {
    if (!deployment) return;
    let views;
    try { views = await receiptsOf(deployment.id); } catch { return; }
    for (const li of list.children) {
      const text = takenText(views.get(li.dataset.id));
      const el = li.querySelector('.taken');
      if (el && el.textContent !== text) el.textContent = text;
      li.classList.toggle('is-taken', Boolean(text));
    }
  }
  let timer = 0;
  const poll = async () => { await taken(); timer = setTimeout(poll, TAKEN_MS); };

  /** Keep every card's "… seconds ago" current while the list is shown. */
  const age = setInterval(() => {
    const now = Date.now();
    for (const el of list.querySelectorAll('.seen')) {
      const text = seenText({camera_id: el.dataset.camera, captured_at: el.dataset.captured}, now);
      if (el.textContent !== text) el.textContent = text;
    }
  }, AGE_MS);

  load().then(() => { timer = setTimeout(poll, TAKEN_MS); });
  const off = [ctx.subscribe('alert', arrived), ctx.subscribe('resync', load),
               ctx.subscribe('open', load)];
  return () => { clearTimeout(timer); clearInterval(age); off.forEach((f) => f()); };
}
