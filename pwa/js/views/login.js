// The login form (R23): name and password; the server sets the session cookie and returns
// the CSRF token. A 429 says how long the account stays locked.

import {api, ApiError} from '../api.js';
import {h, message, say} from '../dom.js';

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
  main.replaceChildren(form);
  ctx.setStatus('');
  name.focus();
}
