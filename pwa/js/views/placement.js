// The camera placement view (technical lead, admin): for one camera, the newest analysed
// frame's face boxes with each face's width in pixels and whether the live quality gate passes
// it, the face-size histogram of the last minute and the share of faces too small to match.
// The server sends boxes and numbers only (GET /api/cameras/{id}/placement): no picture of a
// face or of the scene reaches this page, and nothing of it is kept after it is drawn (R3).

import {api} from '../api.js';
import {h, put, clock, message, say} from '../dom.js';

const POLL_MS = 500;  // the server watches a camera for 5 s after each read

export function renderPlacement(main) {
  const camera = h('select', {id: 'placement-camera'});
  const msg = message();
  const canvas = h('canvas', {class: 'placement', width: 640, height: 360,
                              'aria-label': 'Face boxes of the newest analysed frame'});
  const facts = h('p', {class: 'small', 'aria-live': 'polite'});
  const faces = h('ul', {class: 'results faces'});
  const histogram = h('div', {class: 'histogram'});
  main.append(h('section', {class: 'panel', 'aria-labelledby': 'place-h'},
    h('h1', {id: 'place-h', text: 'Camera placement'}),
    h('p', {text: 'Aim the camera so that faces at the pinch point pass the live quality gate: '
                 + 'green boxes pass, red ones do not (the width in pixels is on each box). '
                 + 'Only boxes and sizes are shown; no image is sent or kept.'}),
    h('div', {class: 'row'}, h('label', {for: camera.id, text: 'Camera'}), camera),
    canvas, facts, h('h2', {text: 'Faces in this frame'}), faces,
    h('h2', {text: 'Face sizes, last minute'}), histogram, msg));

  let timer = null;
  let stopped = false;

  function draw(v) {
    const ctx2d = canvas.getContext('2d');
    if (v.frame_width && v.frame_height) {
      canvas.width = v.frame_width;
      canvas.height = v.frame_height;
    }
    ctx2d.fillStyle = '#1d1f24';
    ctx2d.fillRect(0, 0, canvas.width, canvas.height);
    ctx2d.lineWidth = Math.max(2, canvas.width / 320);
    ctx2d.font = `${Math.max(12, Math.round(canvas.width / 40))}px sans-serif`;
    for (const f of v.faces) {
      const [x1, y1, x2, y2] = f.box;
      const colour = f.passes ? '#2fb36b' : '#e5484d';
      ctx2d.strokeStyle = colour;
      ctx2d.strokeRect(x1, y1, x2 - x1, y2 - y1);
      ctx2d.fillStyle = colour;
      ctx2d.fillText(`${f.width_px} px`, x1, Math.max(14, y1 - 4));
    }
  }

  function show(v) {
    draw(v);
    put(facts, v.captured_at
      ? `Frame of ${clock(v.captured_at)} · ${v.frame_width}×${v.frame_height} · ${v.faces.length} face(s) · `
        + `last minute: ${v.faces_last_minute} face(s), `
        + (v.too_small_share === null ? 'none measured' : `${Math.round(v.too_small_share * 100)} % too small to match`)
      : 'Waiting for an analysed frame of this camera…');
    facts.dataset.tooSmall = v.too_small_share === null ? '' : String(v.too_small_share);
    put(faces, ...(v.faces.length ? v.faces.map((f) => h('li', {
      class: f.passes ? 'ok' : 'bad', dataset: {width: String(f.width_px), passes: String(f.passes)},
      text: `${f.width_px} px wide at (${f.box[0]}, ${f.box[1]}) · `
        + (f.passes ? 'passes the live gate' : `fails the live gate: ${f.reasons.join(', ')}`)}))
      : [h('li', {text: 'No face in this frame.'})]));
    const most = Math.max(1, ...v.histogram.map((b) => b.faces));
    put(histogram, ...v.histogram.map((b) => {
      const bar = h('span', {class: 'bar'});
      bar.style.width = `${Math.round((b.faces / most) * 100)}%`;  // CSSOM: allowed by the CSP
      return h('div', {class: 'bin', dataset: {from: String(b.from_px), faces: String(b.faces)}},
        h('span', {class: 'label', text: b.to_px === null ? `${b.from_px}+ px` : `${b.from_px}–${b.to_px} px`}),
        h('span', {class: 'track'}, bar), h('span', {class: 'count', text: String(b.faces)}));
    }));
  }

  async function poll() {
    timer = null;
    if (stopped || !camera.value) return;
    try {
      show(await api(`/api/cameras/${encodeURIComponent(camera.value)}/placement`));
      say(msg, '');
    } catch (err) { say(msg, err.message, 'error'); }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }

  camera.addEventListener('change', () => { if (timer) clearTimeout(timer); poll(); });
  api('/api/health/cameras').then((cams) => {
    put(camera, ...cams.map((c) => h('option', {value: c.camera_id, text: c.camera_id})));
    if (!cams.length) say(msg, 'No camera is configured.', 'error');
    poll();
  }).catch((err) => say(msg, err.message, 'error'));

  return () => { stopped = true; if (timer) clearTimeout(timer); };
}
