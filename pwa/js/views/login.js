// The login form (R23): name and password; the server sets the session cookie and returns
// the CSRF token. A 429 says how long the account stays locked. Below it, an officer's tablet
// is enrolled once with the one-time code the console showed (issue 14): the tablet is then
// logged in as that officer, and its later logins belong to the device.

import {api, ApiError} from '../api.js';
import {h, message, say} from '../dom.js';
import {APP_VERSION} from '../version.js';

export function renderLogin(main, ctx) {
  const msg = message();
  const name = h('input', {id: 'login-name', name: 'username', autocomplete: 'username',
                           required: true, autocapitalize: 'none', spellcheck: 'false'});
  const password = h('input', {id: 'login-password', name: 'password', type: 'password',
                               autocomplete: 'current-password', required: true});
  const submit = h('button', {type: 'submit', class: 'primary', text: 'Log in'});
  const form = h('form', {class: 'panel login', 'aria-labelledby': 'login-h'},
    h('h1', {id: 'login-h', text: 'Log in to Pinchpoint'}),
    h('label', {for: 'login-name', text: 'User name'}), name,
    h('label', {for: 'login-password', text: 'Password'}), password,
    h('div', {class: 'row'}, submit), msg);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    say(msg, 'Logging in…');
    try {
      const me = await api('/api/auth/login', {method: 'POST', quiet401: true,
        body: {name: name.value.trim(), password: password.value}});
      password.value = '';
      ctx.loggedIn(me);
    } catch (err) {
      const text = err instanceof ApiError && err.status === 401 ? 'Wrong user name or password.'
        : err.message;
      say(msg, text, 'error');
      submit.disabled = false;
      password.focus();
    }
  });
  main.replaceChildren(form, enrolForm(ctx));
  ctx.setStatus('');
  name.focus();
}

function enrolForm(ctx) {
  const msg = message();
  const code = h('input', {id: 'enrol-code', name: 'one-time-code', autocomplete: 'one-time-code',
                           required: true, maxlength: '32', autocapitalize: 'characters',
                           spellcheck: 'false', placeholder: 'XXXX-XXXX'});
  const submit = h('button', {type: 'submit', text: 'Enrol this device'});
  const form = h('form', {class: 'panel login', 'aria-labelledby': 'enrol-h'},
    h('h2', {id: 'enrol-h', text: 'Enrol this device'}),
    h('p', {text: 'A new tablet: type the code shown on the console (it works once, for 10 minutes).'}),
    h('label', {for: 'enrol-code', text: 'Enrolment code'}), code,
    h('div', {class: 'row'}, submit), msg);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    submit.disabled = true;
    say(msg, 'Enrolling…');
    try {
      const me = await api('/api/devices/enrol', {method: 'POST', quiet401: true,
        body: {code: code.value.trim(), app_version: APP_VERSION}});
      code.value = '';
      ctx.loggedIn(me);
    } catch (err) {
      say(msg, err instanceof ApiError && err.status === 400
        ? 'This code is not valid (wrong, used or expired): ask for a new one.' : err.message, 'error');
      submit.disabled = false;
      code.focus();
    }
  });
  return form;
}
