// The admin's user screens (R23): every account with its role, state and failed-login lock;
// create one with a role; reset a password; disable or enable; unlock after a lockout; end a
// user's sessions (a lost device). Each is the CLI's call on the server, audited there (R19).
// Disabling the last enabled admin is refused by the server (an install with no admin cannot
// be administered); the screen says so when it happens.

import {api, ApiError} from '../api.js';
import {h, put, when, message, say} from '../dom.js';

const ROLES = [
  ['officer', 'Officer'], ['operator', 'Operator'], ['technical', 'Technical lead'],
  ['commander', 'Commander'], ['admin', 'Admin'],
];
const roleLabel = (r) => (ROLES.find(([k]) => k === r) || [r, r])[1];

export function renderUsers(main, _params, ctx) {
  const msg = message();
  const list = h('div', {}, h('p', {text: 'Loading users…'}));
  const resetBox = h('div', {});

  async function refresh() {
    let users;
    try { users = await api('/api/users'); } catch (err) {
      put(list, h('p', {class: 'msg error', text: err.message}));
      return;
    }
    put(list, h('table', {class: 'users'},
      h('caption', {class: 'sr-only', text: 'User accounts'}),
      h('thead', {}, h('tr', {}, ...['Name', 'Role', 'State', 'Failed logins', 'Created', 'Actions']
        .map((t) => h('th', {scope: 'col', text: t})))),
      h('tbody', {}, ...users.map((u) => row(u)))));
  }

  function lockText(u) {
    const parts = [];
    if (u.locked_until) parts.push(`locked until ${when(u.locked_until)}`);
    if (u.throttled_clients) parts.push(`${u.throttled_clients} device(s) throttled`);
    return `${u.failures}${parts.length ? ` — ${parts.join(', ')}` : ''}`;
  }

  function row(u) {
    const me = u.name === ctx.me.user;
    const act = (label, method, path, done, cls = '') => h('button', {type: 'button', class: cls,
      text: label, 'aria-label': `${label}: ${u.name}`, dataset: {user: u.name, action: path},
      onclick: async () => {
        try {
          const out = await api(`/api/users/${encodeURIComponent(u.name)}/${path}`, {method});
          say(msg, done(out), 'ok');
          if (me && (path === 'disable' || path === 'sessions')) { await ctx.stillLoggedIn(); return; }
        } catch (err) { say(msg, `${u.name}: ${err.message}`, 'error'); }
        refresh();
      }});
    const ended = (out) => (out.sessions_ended ? ` (${out.sessions_ended} session(s) ended)` : '');
    const locked = u.failures > 0 || u.locked_until || u.throttled_clients > 0;
    return h('tr', {dataset: {user: u.name}},
      h('td', {text: me ? `${u.name} (you)` : u.name}), h('td', {text: roleLabel(u.role)}),
      h('td', {}, h('span', {class: `badge ${u.enabled ? 'state-live' : 'disabled'}`,
                             text: u.enabled ? 'enabled' : 'disabled'})),
      h('td', {text: lockText(u)}), h('td', {text: `${when(u.created_at)} by ${u.created_by}`}),
      h('td', {class: 'actions'},
        locked ? act('Unlock', 'POST', 'unlock', (o) => `${u.name} unlocked: ${o.failures_cleared} failed login(s) cleared.`) : null,
        u.enabled
          ? act('Disable', 'POST', 'disable', (o) => `${u.name} disabled${ended(o)}.`, 'danger')
          : act('Enable', 'POST', 'enable', () => `${u.name} enabled.`),
        act('End sessions', 'DELETE', 'sessions', (o) => `${u.name}: ${o.sessions_ended} session(s) ended.`),
        h('button', {type: 'button', text: 'Reset password', 'aria-label': `Reset password: ${u.name}`,
                     dataset: {user: u.name, action: 'password'}, onclick: () => resetForm(u.name)})));
  }

  function resetForm(name) {
    const note = message();
    const pw = h('input', {id: 'reset-pw', type: 'password', autocomplete: 'new-password', required: true,
                           maxlength: '1024'});
    const again = h('input', {id: 'reset-pw2', type: 'password', autocomplete: 'new-password', required: true,
                              maxlength: '1024'});
    const submit = h('button', {type: 'submit', class: 'primary', text: `Set ${name}'s password`});
    const cancel = h('button', {type: 'button', text: 'Cancel', onclick: () => put(resetBox)});
    const form = h('form', {class: 'panel', 'aria-labelledby': 'reset-h'},
      h('h2', {id: 'reset-h', text: `Reset the password of ${name}`}),
      h('p', {text: 'Every session of the user ends; they log in with the new password. At least 10 characters, not common, not the name (a few unrelated words make a strong one).'}),
      h('label', {for: pw.id, text: 'New password'}), pw,
      h('label', {for: again.id, text: 'New password again'}), again,
      h('div', {class: 'row'}, submit, cancel), note);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (pw.value !== again.value) { say(note, 'The two passwords differ.', 'error'); return; }
      submit.disabled = true;
      try {
        const out = await api(`/api/users/${encodeURIComponent(name)}/password`, {method: 'POST',
          body: {password: pw.value}});
        put(resetBox);
        say(msg, `${name}: password set, ${out.sessions_ended} session(s) ended.`, 'ok');
        if (name === ctx.me.user) { await ctx.stillLoggedIn(); return; }
        refresh();
      } catch (err) {
        say(note, `Not set: ${err.message}`, 'error');
        submit.disabled = false;
      } finally {
        pw.value = '';
        again.value = '';
      }
    });
    put(resetBox, form);
    pw.focus();
  }

  function createForm() {
    const note = message();
    const name = h('input', {id: 'new-user', required: true, maxlength: '64', autocomplete: 'off',
                             autocapitalize: 'none', spellcheck: 'false', pattern: '[A-Za-z0-9._@-]+'});
    const role = h('select', {id: 'new-role'}, ...ROLES.map(([v, t]) => h('option', {value: v, text: t})));
    const pw = h('input', {id: 'new-pw', type: 'password', autocomplete: 'new-password', required: true,
                           maxlength: '1024'});
    const again = h('input', {id: 'new-pw2', type: 'password', autocomplete: 'new-password', required: true,
                              maxlength: '1024'});
    const submit = h('button', {type: 'submit', class: 'primary', text: 'Create user'});
    const form = h('form', {class: 'panel', 'aria-labelledby': 'create-h'},
      h('h2', {id: 'create-h', text: 'New user'}),
      h('div', {class: 'grid2'},
        h('div', {}, h('label', {for: name.id, text: 'User name (letters, digits, . _ - @)'}), name),
        h('div', {}, h('label', {for: role.id, text: 'Role'}), role),
        h('div', {}, h('label', {for: pw.id, text: 'First password'}), pw),
        h('div', {}, h('label', {for: again.id, text: 'First password again'}), again)),
      h('div', {class: 'row'}, submit), note);
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      if (pw.value !== again.value) { say(note, 'The two passwords differ.', 'error'); return; }
      submit.disabled = true;
      try {
        await api('/api/users', {method: 'POST', body: {name: name.value.trim(), role: role.value,
                                                        password: pw.value}});
        say(note, `${name.value.trim()} created as ${roleLabel(role.value)}.`, 'ok');
        name.value = '';
        refresh();
      } catch (err) {
        const why = err instanceof ApiError ? err.message : String(err);
        say(note, `Not created: ${why}`, 'error');
      } finally {
        pw.value = '';
        again.value = '';
        submit.disabled = false;
      }
    });
    return form;
  }

  main.append(h('h1', {text: 'Users'}),
    h('section', {class: 'panel', 'aria-labelledby': 'users-h'},
      h('h2', {id: 'users-h', text: 'Accounts'}),
      h('p', {text: 'Disabling a user or ending their sessions logs them out everywhere at once, live feed included. Unlock clears failed-login locks on every device.'}),
      msg, list),
    resetBox, createForm());
  refresh();
}
