// « Écouter »: reads the page's main text aloud with the browser's own speech synthesis,
// for a person who reads little, with the screen reader off. The language is the page's
// (<html lang>), and each part is read in its own language when it says one (a legal
// text kept in French beside its translation); a part whose language has no voice is
// left out rather than read with the wrong accent.
//
// The button is made here, so that it is absent without JavaScript, and only when the
// browser can speak the page's language: without speech synthesis, or without a voice
// for the language, nothing is shown and nothing fails. It is fixed in a corner of the
// screen (the page does not move when it appears, even though voices arrive late) and
// comes first in <main>, right after « Aller au contenu », so that a keyboard reaches it
// at once. The page gives the two words of the button on the script's tag (data-start,
// data-stop). Plain JavaScript, no framework; nothing is sent anywhere.
'use strict';
(function () {
  var tag = document.currentScript;
  var synth = window.speechSynthesis;
  var Utterance = window.SpeechSynthesisUtterance;
  if (!tag || !synth || !Utterance || typeof synth.getVoices !== 'function') return;
  var START = tag.dataset.start, STOP = tag.dataset.stop;
  // The DSFR's media/volume-up-line and media/stop-circle-line icons.
  var ICON_START = 'M11.762 5.002A.417.417 0 0 1 12 5.38v13.242a.417.417 0 0 1-.68.322l-4.412-3.61H3.667a.833.833 0 0 1-.834-.833v-5c0-.46.373-.833.834-.833h3.24l4.412-3.61a.417.417 0 0 1 .443-.055Zm6.168.008A9.147 9.147 0 0 1 21.167 12a9.144 9.144 0 0 1-2.995 6.778l-1.18-1.18A7.482 7.482 0 0 0 19.5 12a7.485 7.485 0 0 0-2.753-5.807L17.93 5.01Zm-7.597 3.007-2.83 2.316H4.5v3.334h3.003l2.83 2.316V8.017Zm4.633-.043A4.993 4.993 0 0 1 17 12a4.99 4.99 0 0 1-1.78 3.826l-1.186-1.185c.82-.63 1.3-1.607 1.3-2.641a3.329 3.329 0 0 0-1.567-2.827l1.199-1.199Z';
  var ICON_STOP = 'M12 2c5.523 0 10 4.477 10 10s-4.477 10-10 10S2 17.523 2 12 6.477 2 12 2Zm0 2a8 8 0 1 0 0 16 8 8 0 0 0 0-16Zm3 5v6H9V9h6Z';
  // Elements whose text is not read: form controls (their labels are), what is not text,
  // and navigation (the language chooser, a list of links in other languages, is no
  // part of what the page says).
  var SKIP = /^(nav|button|input|select|textarea|option|optgroup|datalist|progress|meter|output|script|style|template|noscript|svg|math|canvas|video|audio|iframe|object|embed|map|dialog)$/;

  function norm(l) { return String(l || '').replace(/_/g, '-').toLowerCase(); }

  // voiceFor picks the voice of a language: the exact one (fa-af), then the main region
  // of the language (fr-fr, es-es), then any of the language (fr-ca).
  function voiceFor(voices, lang) {
    var want = norm(lang), primary = want.split('-')[0], main = primary + '-' + primary, some = null;
    if (!primary) return null;
    for (var i = 0; i < voices.length; i++) {
      var l = norm(voices[i].lang);
      if (l === want) return voices[i];
      if (l === main) some = voices[i];
      else if (!some && l.split('-')[0] === primary) some = voices[i];
    }
    return some;
  }

  function hiddenEl(el) {
    if (el.hidden || el.inert || el.getAttribute('aria-hidden') === 'true') return true;
    if (typeof el.checkVisibility === 'function') return !el.checkVisibility({ visibilityProperty: true });
    var s = window.getComputedStyle(el);
    return s.display === 'none' || s.visibility === 'hidden';
  }

  // parts returns the text of root in reading order, one part per block, each with its
  // language: what is hidden or aria-hidden and the form controls are left out.
  function parts(root, pageLang) {
    var out = [], text = '', lang = pageLang;
    function flush() {
      var s = text.replace(/\s+/g, ' ').trim();
      if (s && /[\p{L}\p{N}]/u.test(s)) out.push({ text: s, lang: lang });
      text = '';
    }
    function walk(n, inLang) {
      if (n.nodeType === 3) {
        if (inLang !== lang) { flush(); lang = inLang; }
        text += n.data;
        return;
      }
      if (n.nodeType !== 1) return;
      var name = n.localName;
      if (SKIP.test(name) || hiddenEl(n)) return;
      var own = n.getAttribute('lang') || inLang;
      if (name === 'img' || (name === 'area')) {
        if (n.alt) {
          if (own !== lang) { flush(); lang = own; }
          text += ' ' + n.alt + ' ';
        }
        return;
      }
      if (name === 'br') { text += ' '; return; }
      var display = window.getComputedStyle(n).display;
      var block = !/^inline/.test(display) && display !== 'contents';
      if (block) flush();
      for (var c = n.firstChild; c; c = c.nextSibling) walk(c, own);
      if (block) flush();
    }
    walk(root, pageLang);
    flush();
    return out;
  }

  function icon(d) {
    var ns = 'http://www.w3.org/2000/svg';
    var svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('aria-hidden', 'true');
    svg.setAttribute('focusable', 'false');
    svg.setAttribute('class', 'ic');
    svg.setAttribute('fill', 'currentColor');
    var p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    svg.appendChild(p);
    return svg;
  }

  function start(voices) {
    var main = document.querySelector('main');
    var pageLang = document.documentElement.getAttribute('lang') || '';
    if (!main || !START || !STOP || !voiceFor(voices, pageLang) || document.querySelector('.cf-listen')) return;
    var btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'fr-btn cf-listen';
    var run = 0; // each reading has its number: the events of a stopped one are ignored
    var speaking = false;
    var held = []; // Chrome drops the events of utterances nobody holds

    function label(on) {
      speaking = on;
      btn.textContent = '';
      btn.appendChild(icon(on ? ICON_STOP : ICON_START));
      btn.appendChild(document.createTextNode(' ' + (on ? STOP : START)));
    }
    function stop() {
      run++;
      held = [];
      label(false);
      try { synth.cancel(); } catch (e) { /* nothing to stop */ }
    }
    btn.addEventListener('click', function () {
      if (speaking) { stop(); return; }
      var voices = synth.getVoices() || [];
      var todo = parts(main, pageLang).map(function (p) {
        return { text: p.text, lang: p.lang, voice: voiceFor(voices, p.lang) };
      }).filter(function (p) { return p.voice; });
      if (!todo.length) return;
      stop();
      var mine = run;
      label(true);
      held = todo.map(function (p, i) {
        var u = new Utterance(p.text);
        u.lang = p.lang;
        u.voice = p.voice;
        u.rate = 0.9; // a little slower than the default: clearer for a person learning the language
        u.onerror = function () { if (mine === run) stop(); };
        if (i === todo.length - 1) u.onend = function () { if (mine === run) { held = []; label(false); } };
        return u;
      });
      try {
        held.forEach(function (u) { synth.speak(u); });
      } catch (e) {
        stop();
      }
    });
    window.addEventListener('pagehide', function () { if (speaking) stop(); });
    label(false);
    main.insertBefore(btn, main.firstChild);
  }

  // Voices often arrive after the page (Chrome loads them on first use): wait for them.
  function whenVoices() {
    var voices;
    try { voices = synth.getVoices(); } catch (e) { return; }
    if (voices && voices.length) { start(voices); return; }
    var once = function () {
      var v = synth.getVoices();
      if (v && v.length) start(v);
    };
    if (typeof synth.addEventListener === 'function') synth.addEventListener('voiceschanged', once);
    else synth.onvoiceschanged = once;
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', whenVoices);
  else whenVoices();
})();
