// Blue-list walk-pasts (R21), for the technical lead: pick the volunteer and the camera, tap
// "Walking past now" as they set off, and read each walk's score — detected or missed, on
// which camera, and the time from the tap to the test event (kernel/domain/bluelist_scores.py
// scores them and defines the periods: before going live, while live, after the end).

import {api} from '../api.js';
import {h, put, clock, message, say} from '../dom.js';

const PERIODS = {before: 'before going live', during: 'while live', after: 'after the end'};

/** The walk-past part of a deployment's page: a declaration form and the scored walks. */
export function walkPasts(dep) {
  const q = encodeURIComponent(dep.id);
  const volunteer = h('select', {id: 'walk-volunteer', name: 'entry_id'});
  const camera = h('select', {id: 'walk-camera', name: 'camera_id'});
  const seconds = h('input', {id: 'walk-seconds', type: 'number', min: '10', max: '600', step: '5',
                              value: '60', inputmode: 'numeric'});
  const msg = message();
  const list = h('div', {'aria-live': 'polite'}, h('p', {text: 'Loading walk-pasts…'}));
  const tap = h('button', {type: 'submit', class: 'primary', text: 'Walking past now'});
  const form = h('form', {class: 'upload', 'aria-label': 'Declare a blue-list walk-past',
    onsubmit: async (event) => {
      event.preventDefault();
      if (!volunteer.value || !camera.value) { say(msg, 'Pick a volunteer and a camera first.', 'error'); return; }
      tap.disabled = true;
      try {
        const w = await api(`/api/deployments/${q}/bluelist/walks`, {method: 'POST', body: {
          entry_id: volunteer.value, camera_id: camera.value, seconds: Number(seconds.value) || 60}});
        say(msg, `Walk-past on camera ${w.camera_id} recorded: ${clock(w.at)} – ${clock(w.until)}.`, 'ok');
        refresh();
      } catch (err) { say(msg, err.message, 'error'); } finally { tap.disabled = false; }
    }},
    h('h3', {text: 'Walk-pasts (R21)'}),
    h('p', {text: 'Tap as the volunteer sets off towards the camera: the walk is detected when a test '
                 + 'event of that volunteer is captured on that camera within the window.'}),
    h('div', {class: 'row'},
      h('div', {}, h('label', {for: volunteer.id, text: 'Volunteer'}), volunteer),
      h('div', {}, h('label', {for: camera.id, text: 'Camera'}), camera),
      h('div', {}, h('label', {for: seconds.id, text: 'Window (s)'}), seconds)),
    h('div', {class: 'row'}, tap), msg);

  async function options() {
    try {
      const [entries, cams] = await Promise.all([api(`/api/deployments/${q}/bluelist`),
                                                 api('/api/health/cameras')]);
      put(volunteer, ...entries.map((e) => h('option', {value: e.id, text: e.reference})));
      put(camera, ...cams.map((c) => h('option', {value: c.camera_id, text: c.camera_id})));
      return Object.fromEntries(entries.map((e) => [e.id, e.reference]));
    } catch (err) { say(msg, err.message, 'error'); return {}; }
  }

  async function refresh() {
    const names = await options();
    try {
      const walks = await api(`/api/deployments/${q}/bluelist/walks`);
      put(list, walks.length ? h('table', {class: 'walks'},
        h('thead', {}, h('tr', {}, ...['Volunteer', 'Camera', 'Window', 'Period', 'Result', 'Time to candidate']
          .map((t) => h('th', {scope: 'col', text: t})))),
        h('tbody', {}, ...walks.map((w) => h('tr', {class: w.detected ? 'ok' : 'bad',
                                                    dataset: {detected: String(w.detected)}},
          h('td', {text: names[w.entry_id] || w.entry_id}), h('td', {text: w.camera_id || 'any'}),
          h('td', {text: `${clock(w.window_from)} – ${clock(w.window_to)}`}),
          h('td', {text: PERIODS[w.period] || w.period}),
          h('td', {text: w.detected ? `detected on ${w.detected_on} at ${clock(w.captured_at)}` : 'missed'}),
          h('td', {text: w.time_to_candidate_s === null ? '—' : `${w.time_to_candidate_s.toFixed(1)} s`})))))
        : h('p', {text: 'No walk-pasts declared yet.'}));
    } catch (err) { put(list, h('p', {class: 'msg error', text: err.message})); }
  }

  refresh();
  return h('section', {class: 'panel tests', 'aria-labelledby': 'walks-h'},
    h('h2', {id: 'walks-h', text: 'Blue-list walk-pasts'}), form, list,
    h('button', {type: 'button', text: 'Refresh scores', onclick: refresh}));
}
