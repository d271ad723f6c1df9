// Shared helpers: JSON calls to the API with the session cookie, the
// GOV.UK-style error summary, and sign-out. Data is only ever put on the
// page with textContent.
'use strict';

window.ANB = (function () {
  async function call(method, url, body, headers) {
    const init = { method: method, credentials: 'same-origin', headers: Object.assign({ 'Accept': 'application/json' }, headers) };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      return { status: 0, data: { detail: 'No hay conexión con el servidor. Revisa tu conexión e intenta de nuevo.' } };
    }
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    return { status: res.status, data: data || {} };
  }

  function toLogin() {
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
  }

  // clearErrors hides the summary and every field's message.
  function clearErrors(form) {
    const summary = document.getElementById('error-summary');
    if (summary) {
      summary.hidden = true;
      summary.querySelector('ul').replaceChildren();
      summary.querySelector('.error-detail').textContent = '';
    }
    form.querySelectorAll('.field-error').forEach(function (p) { p.hidden = true; p.textContent = ''; });
    form.querySelectorAll('.field').forEach(function (f) { f.classList.remove('has-error'); });
    form.querySelectorAll('[aria-invalid]').forEach(function (i) { i.removeAttribute('aria-invalid'); });
  }

  // showErrors puts each message beside its field and in the summary,
  // which links to the field; detail is shown when no field is named.
  function showErrors(form, detail, errors) {
    const summary = document.getElementById('error-summary');
    const list = summary.querySelector('ul');
    const known = [];
    (errors || []).forEach(function (e) {
      const input = form.querySelector('[name="' + CSS.escape(e.field) + '"]');
      const li = document.createElement('li');
      if (input) {
        const msg = document.getElementById(e.field + '-error');
        msg.textContent = e.message;
        msg.hidden = false;
        input.setAttribute('aria-invalid', 'true');
        input.closest('.field').classList.add('has-error');
        const a = document.createElement('a');
        a.href = '#' + input.id;
        a.textContent = e.message;
        a.addEventListener('click', function (ev) { ev.preventDefault(); input.focus(); });
        li.appendChild(a);
        known.push(e);
      } else {
        li.textContent = e.message;
      }
      list.appendChild(li);
    });
    summary.querySelector('.error-detail').textContent = known.length ? '' : (detail || 'Los datos enviados no son válidos.');
    summary.hidden = false;
    summary.focus();
  }

  function init() {
    const logout = document.getElementById('logout');
    if (logout) {
      logout.addEventListener('click', async function (ev) {
        ev.preventDefault(); // the form is for browsers without script
        logout.disabled = true;
        await call('POST', '/api/auth/logout');
        location.assign('/');
      });
    }
  }
  document.addEventListener('DOMContentLoaded', init);

  return { call: call, toLogin: toLogin, clearErrors: clearErrors, showErrors: showErrors };
})();
