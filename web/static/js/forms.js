// Signup and login: send the form as JSON to the API and show its
// messages beside the fields.
'use strict';

(function () {
  // Problems that name no field still belong to one.
  const fieldOf = { password_mismatch: 'password2', email_taken: 'email', invalid_credentials: 'password' };

  function wire(form) {
    form.addEventListener('submit', async function (ev) {
      ev.preventDefault();
      ANB.clearErrors(form);
      const body = {};
      // next is for the post without script; the script goes there itself.
      new FormData(form).forEach(function (v, k) { if (k !== 'next') body[k] = String(v); });
      const button = form.querySelector('button[type="submit"]');
      button.disabled = true;
      // The login asks for the session cookie (data-session); API clients
      // get only the token.
      const headers = form.dataset.session ? { 'X-ANB-Session': form.dataset.session } : undefined;
      const res = await ANB.call('POST', form.dataset.api, body, headers);
      button.disabled = false;
      if (res.status >= 200 && res.status < 300) {
        // data-next is the server's checked return address (SafeNext).
        location.assign(form.dataset.next || '/');
        return;
      }
      let errors = res.data.errors || [];
      if (!errors.length && fieldOf[res.data.code]) {
        errors = [{ field: fieldOf[res.data.code], message: res.data.detail }];
      }
      ANB.showErrors(form, res.data.detail, errors);
    });
  }

  document.addEventListener('DOMContentLoaded', function () {
    document.querySelectorAll('#signup-form, #login-form').forEach(wire);
    if (new URLSearchParams(location.search).get('registered') === '1') {
      const n = document.getElementById('registered');
      if (n) n.hidden = false;
    }
  });
})();
