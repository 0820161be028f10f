// Deployments: the list (every staff role) and the commander's "new deployment" form with the
// authorisation fields of R18.

import {api} from '../api.js';
import {h, put, when, message, say} from '../dom.js';
import {healthStrip} from './health.js';

const HEALTH_ROLES = ['operator', 'technical', 'commander', 'admin'];

export function renderDeployments(main, _params, ctx) {
  const body = h('div', {}, h('p', {text: 'Loading…'}));
  let stop = () => {};
  const parts = [h('h1', {text: 'Deployments'})];
  if (ctx.me.role === 'commander') {
    parts.push(h('p', {}, h('a', {href: '#/deployments/new', class: 'button primary',
                                  text: 'New deployment'})));
  }
  if (HEALTH_ROLES.includes(ctx.me.role)) {
    const [strip, stopHealth] = healthStrip(5000);
    stop = stopHealth;
    parts.push(strip);
  }
  main.append(...parts, body);
  api('/api/deployments').then((rows) => {
    rows.sort((a, b) => b.created_at.localeCompare(a.created_at));
    if (!rows.length) { put(body, h('p', {class: 'panel', text: 'No deployments yet.'})); return; }
    put(body, h('table', {},
      h('caption', {class: 'sr-only', text: 'Deployments, newest first'}),
      h('thead', {}, h('tr', {}, ...['Name', 'State', 'Location', 'From', 'To'].map((t) =>
        h('th', {scope: 'col', text: t})))),
      h('tbody', {}, ...rows.map((d) => h('tr', {},
        h('td', {}, h('a', {href: `#/deployments/${d.id}`, text: d.name})),
        h('td', {}, h('span', {class: `badge state-${d.state}`, text: d.state})),
        h('td', {text: d.location}), h('td', {text: when(d.starts_at)}),
        h('td', {text: when(d.ends_at)}))))));
  }).catch((err) => put(body, h('p', {class: 'msg error', text: err.message})));
  return () => stop();
}

/** `datetime-local` value → ISO 8601 with the device's UTC offset. */
function isoLocal(value) {
  const d = new Date(value);
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const pad = (n) => String(Math.floor(Math.abs(n))).padStart(2, '0');
  return `${value.length === 16 ? `${value}:00` : value}${sign}${pad(off / 60)}:${pad(off % 60)}`;
}

function localInput(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T`
    + `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

export function renderNewDeployment(main, _params, ctx) {
  const msg = message();
  const field = (id, label, input) => [h('label', {for: id, text: label}), input];
  const now = new Date();
  const inputs = {
    name: h('input', {id: 'd-name', required: true, maxlength: '200'}),
    authorising_officer: h('input', {id: 'd-auth', required: true, maxlength: '200'}),
    location: h('input', {id: 'd-loc', required: true, maxlength: '200'}),
    starts_at: h('input', {id: 'd-start', type: 'datetime-local', required: true,
                           value: localInput(now)}),
    ends_at: h('input', {id: 'd-end', type: 'datetime-local', required: true,
                         value: localInput(new Date(now.getTime() + 8 * 3600e3))}),
    case_reference: h('input', {id: 'd-case', required: true, maxlength: '200'}),
    objectives: h('textarea', {id: 'd-obj', required: true, maxlength: '4000'}),
    command_team: h('textarea', {id: 'd-team', placeholder: 'One per line, e.g. Gold: Ch. Supt. …'}),
    match_threshold: h('input', {id: 'd-thr', type: 'number', step: '0.01', min: '-1', max: '1',
                                 placeholder: 'Engine default'}),
  };
  const submit = h('button', {type: 'submit', class: 'primary', text: 'Create deployment'});
  const form = h('form', {class: 'panel', 'aria-labelledby': 'new-h'},
    h('h1', {id: 'new-h', text: 'New deployment (authorisation, R18)'}),
    h('div', {class: 'grid2'},
      h('div', {}, ...field('d-name', 'Name', inputs.name)),
      h('div', {}, ...field('d-auth', 'Authorising officer', inputs.authorising_officer)),
      h('div', {}, ...field('d-loc', 'Location', inputs.location)),
      h('div', {}, ...field('d-case', 'Intelligence case reference', inputs.case_reference)),
      h('div', {}, ...field('d-start', 'Starts', inputs.starts_at)),
      h('div', {}, ...field('d-end', 'Ends', inputs.ends_at))),
    ...field('d-obj', 'Objectives', inputs.objectives),
    ...field('d-team', 'Command team', inputs.command_team),
    ...field('d-thr', 'Match threshold (optional)', inputs.match_threshold),
    h('div', {class: 'row'}, submit), msg);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    const threshold = inputs.match_threshold.value.trim();
    try {
      const dep = await api('/api/deployments', {method: 'POST', body: {
        name: inputs.name.value.trim(),
        authorising_officer: inputs.authorising_officer.value.trim(),
        location: inputs.location.value.trim(),
        starts_at: isoLocal(inputs.starts_at.value), ends_at: isoLocal(inputs.ends_at.value),
        objectives: inputs.objectives.value.trim(),
        case_reference: inputs.case_reference.value.trim(),
        command_team: inputs.command_team.value.split('\n').map((s) => s.trim()).filter(Boolean),
        match_threshold: threshold === '' ? null : Number(threshold)}});
      ctx.go(`#/deployments/${dep.id}`);
    } catch (err) {
      say(msg, `Not created: ${err.message}`, 'error');
      submit.disabled = false;
    }
  });
  main.append(form);
  inputs.name.focus();
}
