// The camera-health strip (GET /api/health/cameras): state, fps, drops, reconnects.

import {api} from '../api.js';
import {h, put} from '../dom.js';

export function healthStrip(every = 3000) {
  const strip = h('section', {class: 'health', 'aria-label': 'Camera health'});
  let timer = 0;
  let stopped = false;
  async function poll() {
    try {
      const cams = await api('/api/health/cameras');
      put(strip, ...(cams.length ? cams.map((c) => {
        const down = c.task.state !== 'running' || !c.stats.connected;
        return h('div', {class: `cam${down ? ' down' : ''}`, dataset: {camera: c.camera_id}},
          h('strong', {text: c.camera_id}), ` · ${c.task.state} · ${c.stats.fps.toFixed(1)} fps · `
          + `${c.dropped} dropped · ${c.stats.reconnects} reconnects · ${c.task.restarts} restarts`);
      }) : [h('div', {class: 'cam', text: 'No cameras configured'})]));
    } catch (err) {
      put(strip, h('div', {class: 'cam down', text: `Camera health unavailable: ${err.message}`}));
    }
    if (!stopped) timer = setTimeout(poll, every);
  }
  poll();
  return [strip, () => { stopped = true; clearTimeout(timer); }];
}
