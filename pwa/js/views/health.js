// The camera-health strip: this node's cameras (GET /api/health/cameras: state, fps, drops,
// reconnects) and, on a console, every camera of every edge as the edge last reported it
// (GET /api/health/edges, issue 13: state, frames processed and dropped), each edge with its
// candidate queue and whether it holds the published watch lists.

import {api} from '../api.js';
import {h, put} from '../dom.js';

// An edge reports every [node] report_s (5 s by default) and at once after a change; one not
// heard from for this long is shown as silent (its cameras' states are then its last word).
const SILENT_S = 30;

function ownCamera(c) {
  const down = c.task.state !== 'running' || !c.stats.connected;
  return h('div', {class: `cam${down ? ' down' : ''}`, dataset: {camera: c.camera_id}},
    h('strong', {text: c.camera_id}), ` · ${c.task.state} · ${c.stats.fps.toFixed(1)} fps · `
    + `${c.dropped} dropped · ${c.stats.reconnects} reconnects · ${c.task.restarts} restarts`);
}

function edgeChips(e, nowS) {
  const age = Math.max(0, Math.round(nowS - e.reported_at));
  const silent = age > SILENT_S;
  // every live deployment's list is published to every edge: one it lacks, or holds at an
  // older version, is not current (a withdrawn one it still holds, neither)
  const stale = e.lists.filter((l) => !l.current).length;
  const lists = e.lists.length === 0 ? 'no list published'
    : `${e.lists.length - stale} of ${e.lists.length} list${e.lists.length === 1 ? '' : 's'} current`;
  const head = h('div', {class: `cam edge${silent || stale ? ' down' : ''}`, dataset: {edge: e.node_id}},
    h('strong', {text: `Edge ${e.node_id}`}),
    ` · ${silent ? `silent ${age} s` : 'reporting'} · ${lists} · ${e.queued} queued · `
    + `${e.late} late · ${e.refused} refused`);
  return [head, ...e.cameras.map((c) => {
    const down = silent || c.state !== 'running';
    return h('div', {class: `cam${down ? ' down' : ''}`, dataset: {camera: c.camera_id, edge: e.node_id}},
      h('strong', {text: c.camera_id}), ` · on ${e.node_id} · ${c.state} · ${c.processed} processed · `
      + `${c.dropped} dropped`);
  })];
}

export function healthStrip(every = 3000) {
  const strip = h('section', {class: 'health', 'aria-label': 'Camera health'});
  let timer = 0;
  let stopped = false;
  async function poll() {
    try {
      const [cams, edges] = await Promise.all([
        api('/api/health/cameras'), api('/api/health/edges').catch(() => [])]);
      const nowS = Date.now() / 1000;
      const chips = [...cams.map(ownCamera), ...edges.flatMap((e) => edgeChips(e, nowS))];
      put(strip, ...(chips.length ? chips : [h('div', {class: 'cam', text: 'No cameras configured'})]));
    } catch (err) {
      put(strip, h('div', {class: 'cam down', text: `Camera health unavailable: ${err.message}`}));
    }
    if (!stopped) timer = setTimeout(poll, every);
  }
  poll();
  return [strip, () => { stopped = true; clearTimeout(timer); }];
}
