// Passkeys: sign in with the phone's screen lock instead of a password. The buttons stay
// hidden where the browser cannot use passkeys; the password form is always there.
//
// The pages load this script in their head, without defer: it marks the page before the
// first paint when the browser can use passkeys, and the stylesheet shows the buttons
// from the start (.cf-passkeys), so that nothing moves when they are set up.
'use strict';
(function () {
  var able = !!(window.PublicKeyCredential && navigator.credentials);
  if (able) document.documentElement.classList.add('cf-passkeys');
  function toBuf(s) {
    s = s.replace(/-/g, '+').replace(/_/g, '/');
    while (s.length % 4) s += '=';
    var bin = atob(s), b = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
    return b.buffer;
  }
  function toB64u(buf) {
    var b = new Uint8Array(buf), s = '';
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function post(url, csrf, body) {
    return fetch(url, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'Accept': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().then(function (j) {
        // A change of credential asks for a fresh proof first: go to that page.
        if (!r.ok && j.redirect) {
          window.location.assign(j.redirect);
          return new Promise(function () {});
        }
        if (!r.ok) throw new Error(j.error || '');
        return j;
      });
    });
  }
  function credentialJSON(c) {
    var r = c.response;
    var out = { id: c.id, rawId: toB64u(c.rawId), type: c.type, response: { clientDataJSON: toB64u(r.clientDataJSON) },
      clientExtensionResults: c.getClientExtensionResults ? c.getClientExtensionResults() : {} };
    if (r.attestationObject) {
      out.response.attestationObject = toB64u(r.attestationObject);
      if (r.getTransports) out.response.transports = r.getTransports();
    }
    if (r.authenticatorData) {
      out.response.authenticatorData = toB64u(r.authenticatorData);
      out.response.signature = toB64u(r.signature);
      if (r.userHandle) out.response.userHandle = toB64u(r.userHandle);
    }
    return out;
  }
  function setup(box, begin, finish, ceremony) {
    var button = box.querySelector('button');
    var err = box.querySelector('.cf-passkey-error');
    var csrf = box.dataset.csrf;
    box.hidden = false;
    button.addEventListener('click', function () {
      err.hidden = true;
      button.disabled = true;
      post(begin, csrf).then(function (opts) {
        return ceremony(opts.publicKey);
      }).then(function (cred) {
        return post(finish, csrf, credentialJSON(cred));
      }).then(function (res) {
        window.location.assign(res.redirect);
      }).catch(function (e) {
        button.disabled = false;
        err.querySelector('p').textContent = (e && e.message && e.name === 'Error') ? e.message : box.dataset.error;
        err.hidden = false;
      });
    });
  }
  document.addEventListener('DOMContentLoaded', function () {
    if (!able) return;
    var reg = document.getElementById('passkey-register');
    if (reg) {
      Array.prototype.forEach.call(document.querySelectorAll('.cf-nojs-only'), function (e) { e.hidden = true; });
      setup(reg, '/compte/cles/debut', '/compte/cles/fin', function (pk) {
        pk.challenge = toBuf(pk.challenge);
        pk.user.id = toBuf(pk.user.id);
        (pk.excludeCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
        return navigator.credentials.create({ publicKey: pk });
      });
    }
    var login = document.getElementById('passkey-login');
    if (login) {
      // The same button confirms who is there before a change (data-begin, data-finish).
      setup(login, login.dataset.begin || '/connexion/cle/debut', login.dataset.finish || '/connexion/cle/fin', function (pk) {
        pk.challenge = toBuf(pk.challenge);
        (pk.allowCredentials || []).forEach(function (c) { c.id = toBuf(c.id); });
        return navigator.credentials.get({ publicKey: pk });
      });
    }
  });
})();
