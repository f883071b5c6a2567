// Ajouter un papier, with JavaScript: each photo is made smaller on the phone before it
// is sent (about 2000 px on the long side, enough to read a paper and ten times lighter
// on a prepaid plan), pages are collected one photo at a time, a bar shows the progress,
// and a network cut keeps the pages in memory for "Réessayer l'envoi". Each photo is
// checked as it will be sent (precheck.js): what the server would find wrong is said at
// once, with "Reprendre la photo", and the button becomes "Envoyer quand même". Without
// JavaScript the same form is sent as a plain upload.
'use strict';
(function () {
  var MAX_SIDE = 2000, QUALITY = 0.85;

  function downscale(file) {
    if (!/^image\/(jpeg|png|webp)$/.test(file.type) || !window.createImageBitmap) {
      return Promise.resolve(file);
    }
    return createImageBitmap(file, { imageOrientation: 'from-image' }).then(function (bmp) {
      var scale = Math.min(1, MAX_SIDE / Math.max(bmp.width, bmp.height));
      if (scale === 1 && file.type === 'image/jpeg' && file.size < 1500000) {
        return file;
      }
      var c = document.createElement('canvas');
      c.width = Math.round(bmp.width * scale);
      c.height = Math.round(bmp.height * scale);
      c.getContext('2d').drawImage(bmp, 0, 0, c.width, c.height);
      return new Promise(function (resolve) {
        c.toBlob(function (b) { resolve(b || file); }, 'image/jpeg', QUALITY);
      });
    }).catch(function () { return file; });
  }

  document.addEventListener('DOMContentLoaded', function () {
    var form = document.getElementById('add-form');
    if (!form) return;
    var input = document.getElementById('pages');
    var list = document.getElementById('page-list');
    var box = document.getElementById('progress-box');
    var bar = document.getElementById('progress');
    var errBox = document.getElementById('upload-error');
    var status = document.getElementById('upload-status');
    var submit = document.getElementById('add-submit');
    var submitHTML = submit.innerHTML;
    var icon = submit.querySelector('svg');
    // The sentences of the server's warnings, from the page (web/i18n).
    var says = document.getElementById('precheck');
    var pages = [];
    var busy = false;
    var retakeAt = -1; // the page "Reprendre la photo" replaces

    function label(text) {
      submit.textContent = '';
      if (icon) submit.appendChild(icon.cloneNode(true));
      submit.appendChild(document.createTextNode(' ' + text));
    }

    // The button says "Envoyer quand même" while a photo has a warning.
    function idle() {
      if (says && pages.some(function (p) { return p.warnings && p.warnings.length; })) {
        label(says.dataset.anyway);
      } else {
        submit.innerHTML = submitHTML;
      }
    }

    function warningBox(p, i) {
      var box = document.createElement('div');
      box.className = 'fr-alert fr-alert--warning fr-alert--sm';
      var title = document.createElement('p');
      title.textContent = says.dataset.title;
      box.appendChild(title);
      var ul = document.createElement('ul');
      p.warnings.forEach(function (w) {
        var li = document.createElement('li');
        li.textContent = sentence(says.dataset[w.code] || '');
        ul.appendChild(li);
      });
      box.appendChild(ul);
      var again = document.createElement('button');
      again.type = 'button';
      again.className = 'fr-btn fr-btn--sm';
      again.textContent = says.dataset.retake;
      again.setAttribute('aria-label', says.dataset.retake + form.dataset.colon + form.dataset.page + ' ' + num(i + 1));
      again.addEventListener('click', function () {
        retakeAt = i;
        input.click();
      });
      box.appendChild(again);
      return box;
    }

    // num writes n with the digits of the page's language, which the form gives ("۴۲" in
    // Dari and Pashto, as the server writes them).
    function num(n) {
      var digits = form.dataset.digits || '0123456789';
      return String(n).replace(/[0-9]/g, function (d) { return digits.charAt(+d); });
    }

    // sentence starts a warning with a capital letter where it stands alone or follows
    // another: the catalogue writes them to follow « Page 1 : » (doc.warnpage).
    function sentence(m) {
      return m.charAt(0).toLocaleUpperCase(document.documentElement.lang || undefined) + m.slice(1);
    }

    // say tells screen readers what is happening (a role=status region, not shown).
    function say(text) {
      if (status) status.textContent = text;
    }

    // sayChecked says the verdict of the photo check of page p; not once the sending has
    // started, which it would be said over (the list still shows it).
    function sayChecked(p) {
      var at = pages.indexOf(p);
      if (at < 0 || !says || busy) return;
      var what = p.later ? says.dataset.later : p.warnings.length ? says.dataset.title + ' ' + p.warnings.map(function (w, k) { var m = says.dataset[w.code] || ''; return k ? sentence(m) : m; }).join(' ') : says.dataset.ok;
      say(form.dataset.page + ' ' + num(at + 1) + form.dataset.colon + what);
    }

    function showError(msg) {
      errBox.querySelector('p').textContent = msg;
      errBox.hidden = false;
    }

    // render draws the list of pages again; the button that had the focus keeps it (the
    // check of a photo ends while a keyboard is on the list).
    function render() {
      var had = list.contains(document.activeElement) ? document.activeElement.getAttribute('aria-label') : null;
      list.textContent = '';
      if (!pages.length) return;
      var ol = document.createElement('ol');
      pages.forEach(function (p, i) {
        var li = document.createElement('li');
        if (p.url) {
          var img = document.createElement('img');
          img.src = p.url;
          img.alt = '';
          li.appendChild(img);
        }
        var span = document.createElement('span');
        span.textContent = form.dataset.page + ' ' + num(i + 1);
        li.appendChild(span);
        var rm = document.createElement('button');
        rm.type = 'button';
        rm.className = 'fr-btn fr-btn--sm fr-btn--tertiary';
        rm.textContent = form.dataset.remove;
        rm.setAttribute('aria-label', form.dataset.remove + form.dataset.colon + span.textContent);
        rm.addEventListener('click', function () {
          if (p.url) URL.revokeObjectURL(p.url);
          pages.splice(i, 1);
          render();
          // The focus goes to the page now in this place, or back to the photo button.
          var next = list.querySelectorAll('li > button')[Math.min(i, pages.length - 1)];
          (next || input).focus();
        });
        li.appendChild(rm);
        if (p.warnings) {
          li.dataset.checked = p.later ? 'later' : p.warnings.map(function (w) { return w.code; }).join(' ') || 'ok';
          if (p.warnings.length && says) li.appendChild(warningBox(p, i));
        }
        ol.appendChild(li);
      });
      list.appendChild(ol);
      if (had) {
        var same = Array.prototype.filter.call(list.querySelectorAll('button'), function (b) { return b.getAttribute('aria-label') === had; })[0];
        if (same) same.focus();
      }
      if (!busy) idle();
    }

    // A photo taken with the main button is a new page; one taken with "Reprendre la
    // photo" replaces its page.
    document.querySelector('label[for=pages]').addEventListener('click', function () { retakeAt = -1; });
    input.addEventListener('cancel', function () { retakeAt = -1; });
    // "Ajouter une page" sends the page without JavaScript (pending.go); here the pages
    // wait in the phone, and it opens the camera for the next one.
    var addPage = document.getElementById('add-page');
    if (addPage) {
      addPage.addEventListener('click', function (ev) {
        ev.preventDefault();
        retakeAt = -1;
        input.click();
      });
    }

    input.addEventListener('change', takeFiles);
    // A photo taken before this script ran (a slow network) is in the field already.
    if (input.files && input.files.length) takeFiles();

    function takeFiles() {
      var files = Array.prototype.slice.call(input.files);
      input.value = '';
      var at = retakeAt;
      retakeAt = -1;
      Promise.all(files.map(downscale)).then(function (blobs) {
        var added = blobs.map(function (b, i) {
          var name = files[i].name.replace(/\.[^.]*$/, '') + (b.type === 'image/jpeg' ? '.jpg' : '');
          return { blob: b, name: name || ('page-' + (pages.length + i + 1)), url: /^image\/(jpeg|png|webp|gif)$/.test(b.type) ? URL.createObjectURL(b) : null, warnings: null };
        });
        if (at >= 0 && at < pages.length) {
          if (pages[at].url) URL.revokeObjectURL(pages[at].url);
          pages.splice.apply(pages, [at, 1].concat(added));
        } else {
          pages = pages.concat(added);
        }
        errBox.hidden = true;
        render();
        if (window.CoffrePrecheck && says && added.length) {
          say(form.dataset.page + ' ' + num(pages.indexOf(added[0]) + 1) + form.dataset.colon + says.dataset.checking);
        }
        added.forEach(function (p) {
          if (!window.CoffrePrecheck) return;
          window.CoffrePrecheck.checkBlob(p.blob).then(function (ws) {
            p.warnings = ws || [];
            p.later = ws === null; // the browser cannot read it (HEIC, PDF): the server will
            render();
            sayChecked(p);
          });
        });
      });
    }

    form.addEventListener('submit', function (ev) {
      // Taking out a page that waits on the server is a plain form.
      if (ev.submitter && ev.submitter.name === 'retirer') return;
      ev.preventDefault();
      if (busy) return;
      if (!pages.length && !form.elements.pending) {
        showError(form.dataset.nofile);
        return;
      }
      busy = true;
      errBox.hidden = true;
      var fd = new FormData();
      fd.append('csrf', form.elements.csrf.value);
      var kind = form.querySelector('input[name=kind]:checked');
      if (kind) fd.append('kind', kind.value);
      fd.append('title', form.elements.title.value);
      if (form.elements.pending) fd.append('pending', form.elements.pending.value);
      pages.forEach(function (p) { fd.append('pages', p.blob, p.name); });
      var xhr = new XMLHttpRequest();
      xhr.open('POST', form.action);
      xhr.setRequestHeader('Accept', 'application/json');
      xhr.setRequestHeader('X-CSRF-Token', form.elements.csrf.value);
      box.hidden = false;
      bar.value = 0;
      submit.textContent = form.dataset.sending;
      submit.disabled = true;
      say(form.dataset.sending);
      // Said every quarter: often enough on a slow line, not at every step of the bar.
      var quarter = 0;
      xhr.upload.onprogress = function (e) {
        if (!e.lengthComputable) return;
        bar.value = Math.round(100 * e.loaded / e.total);
        if (Math.floor(bar.value / 25) > quarter) {
          quarter = Math.floor(bar.value / 25);
          // « 42 % », "42%", "۴۲٪": as the page's language writes it (add.percent).
          say(form.dataset.sending + ' ' + form.dataset.percent.replace('{}', num(bar.value)));
        }
      };
      function again(msg) {
        busy = false;
        say('');
        submit.disabled = false;
        submit.textContent = form.dataset.retry;
        box.hidden = true;
        showError(msg);
      }
      xhr.onerror = xhr.ontimeout = function () { again(form.dataset.neterror); };
      xhr.onload = function () {
        var res = {};
        try { res = JSON.parse(xhr.responseText); } catch (e) { /* not JSON: a proxy's page */ }
        if (xhr.status === 200 && res.redirect) {
          window.location.assign(res.redirect);
          return;
        }
        if (xhr.status === 413 && !res.error) res.error = form.dataset.toolarge;
        again(res.error || form.dataset.neterror);
        if (xhr.status !== 0 && xhr.status < 500) idle();
      };
      xhr.send(fd);
    });
  });
})();
