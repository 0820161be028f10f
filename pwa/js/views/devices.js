// Officers' enrolled devices (issue 14, R23), for the admin and the technical lead: issue a
// one-time code for an officer's tablet (shown once, valid 10 minutes), the device list (its
// officer, last seen, how it takes its alerts, app version) and revoking a lost tablet, which
// ends its sessions and deletes its push subscription and MQTT account at once. Audited on
// the server (R19).

import {api} from '../api.js';
import {h, put, when, message, say} from '../dom.js';

const PATHS = {mqtt: 'MQTT', feed: 'Live feed', '': 'Not yet'};

export function renderDevices(main) {
  const msg = message();
  const list = h('div', {}, h('p', {text: 'Loading devices…'}));
  const codeOut = h('div', {class: 'code-out', 'aria-live': 'polite'});

  async function refresh() {
    let devices;
    try { devices = await api('/api/devices'); } catch (err) {
      put(list, h('p', {class: 'msg error', text: err.message}));
      return;
    }
    if (!devices.length) { put(list, h('p', {text: 'No device is enrolled yet.'})); return; }
    put(list, h('table', {class: 'users devices'},
      h('caption', {class: 'sr-only', text: 'Enrolled devices'}),
      h('thead', {}, h('tr', {}, ...['Officer', 'Device', 'Enrolled', 'Last seen', 'Alerts via',
        'App version', 'State', 'Actions'].map((t) => h('th', {scope: 'col', text: t})))),
      h('tbody', {}, ...devices.map(row))));
  }

  function row(d) {
    const via = `${PATHS[d.delivery] ?? d.delivery}${d.web_push ? ' + Web Push' : ''}`;
    const revoke = h('button', {type: 'button', class: 'danger', text: 'Revoke',
      'aria-label': `Revoke: ${d.label || d.id} of ${d.user}`, dataset: {device: d.id},
      onclick: async () => {
        revoke.disabled = true;
        try {
          const out = await api(`/api/devices/${encodeURIComponent(d.id)}/revoke`, {method: 'POST'});
          say(msg, `${d.label || d.id} revoked: ${out.sessions_ended} session(s) ended, `
            + `${out.push_deleted} push subscription(s) deleted`
            + (out.mqtt_revoked ? ', MQTT login deleted.' : '; the MQTT broker could not be reached: revoke again.'),
          out.mqtt_revoked ? 'ok' : 'error');
        } catch (err) { say(msg, `${d.id}: ${err.message}`, 'error'); }
        refresh();
      }});
    return h('tr', {dataset: {device: d.id}},
      h('td', {text: d.user}), h('td', {text: d.label || d.id}),
      h('td', {text: `${when(d.enrolled_at)} by ${d.enrolled_by}`}), h('td', {text: when(d.last_seen_at)}),
      h('td', {text: via}), h('td', {text: d.app_version || '—'}),
      h('td', {}, h('span', {class: `badge ${d.revoked_at ? 'disabled' : 'state-live'}`,
        text: d.revoked_at ? `revoked ${when(d.revoked_at)} by ${d.revoked_by}` : 'active'})),
      h('td', {class: 'actions'}, d.revoked_at ? null : revoke));
  }

  function issueForm() {
    const note = message();
    const officer = h('input', {id: 'enrol-officer', required: true, maxlength: '64', autocomplete: 'off',
                                autocapitalize: 'none', spellcheck: 'false', pattern: '[A-Za-z0-9._@-]+'});
    const label = h('input', {id: 'enrol-label', maxlength: '64', autocomplete: 'off',
                              placeholder: 'Asset tag or call sign, no names'});
    const submit = h('button', {type: 'submit', class: 'primary', text: 'Issue an enrolment code'});
    const form = h('form', {class: 'panel', 'aria-labelledby': 'issue-h'},
      h('h2', {id: 'issue-h', text: 'Enrol a tablet'}),
      h('p', {text: 'The code is shown once and works once, for 10 minutes: the officer types it on the tablet under “Enrol this device”.'}),
      h('div', {class: 'grid2'},
        h('div', {}, h('label', {for: officer.id, text: 'Officer (user name)'}), officer),
        h('div', {}, h('label', {for: label.id, text: 'Device label'}), label)),
      h('div', {class: 'row'}, submit), note, codeOut);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      submit.disabled = true;
      try {
        const out = await api('/api/devices/codes', {method: 'POST',
          body: {officer: officer.value.trim(), label: label.value.trim()}});
        put(codeOut, h('p', {text: `Code for ${out.user}'s ${out.label || 'tablet'}, valid until ${when(out.expires_at)}:`}),
            h('p', {id: 'enrol-code-out', class: 'code', text: out.code}));
        say(note, '');
      } catch (err) {
        put(codeOut);
        say(note, `No code: ${err.message}`, 'error');
      } finally {
        submit.disabled = false;
      }
    });
    return form;
  }

  main.append(h('h1', {text: 'Devices'}),
    h('section', {class: 'panel', 'aria-labelledby': 'devices-h'},
      h('h2', {id: 'devices-h', text: 'Enrolled tablets'}),
      h('p', {text: 'Revoke a lost or stolen tablet: its sessions end and its push and MQTT logins are deleted at once.'}),
      msg, list),
    issueForm());
  refresh();
}
