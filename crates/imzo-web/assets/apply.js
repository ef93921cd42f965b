/*
 * apply.js — steps 1–3 of an application: applicant's data and SMS code, the key made by
 * the signing module with the documents, then number, amount and how to pay. Where the
 * applicant is stays in sessionStorage, so a reload or the language switcher (a plain
 * GET) never loses it.
 */
(function () {
  'use strict';
  var P = window.Portal;
  var T = P.T;
  var STORE = 'imzo.apply';
  var MAX_DOCUMENT = 5 * 1024 * 1024; // the server's limit per document
  var state = load();

  function load() {
    try { return JSON.parse(sessionStorage.getItem(STORE)) || { step: 'start' }; } catch (e) { return { step: 'start' }; }
  }
  function save() { sessionStorage.setItem(STORE, JSON.stringify(state)); }
  function $(id) { return document.getElementById(id); }

  var SECTION = { start: 1, code: 1, key: 2, docs: 2, pay: 3 };

  function show(step, focus) {
    state.step = step;
    save();
    var n = SECTION[step] || 1;
    document.querySelectorAll('[data-section]').forEach(function (s) { s.hidden = String(n) !== s.getAttribute('data-section'); });
    document.querySelectorAll('.steps li').forEach(function (li) {
      if (li.getAttribute('data-step') === String(n)) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
    });
    $('start-form').hidden = step !== 'start';
    $('code-form').hidden = step !== 'code';
    $('key-form').hidden = step !== 'key';
    $('docs-form').hidden = step !== 'docs';
    $('key-made').hidden = step !== 'docs';
    if (step === 'code') $('code-sent').textContent = T('step1.code_sent', { phone: state.phone_masked || '' });
    if (step === 'key') prepareKey();
    if (step === 'docs') $('key-made').textContent = T('step2.key_made', { file: keyFile() });
    if (step === 'pay') showPayment();
    if (focus) {
      var h = document.getElementById('step' + n + '-h');
      if (h) { h.setAttribute('tabindex', '-1'); h.focus(); }
    }
  }

  function keyFile() {
    var k = state.key || {};
    return (k.disk || '') + '/' + (k.path || 'DSKEYS') + '/' + (k.name || '') + '.pfx';
  }

  // ---- Step 1: the applicant and the phone ----

  var form = $('start-form');
  function legal() { return form.querySelector('input[name="applicant_type"]:checked').value === 'legal_entity'; }
  function syncLegal() { $('legal').hidden = !legal(); }
  form.querySelectorAll('input[name="applicant_type"]').forEach(function (r) { r.addEventListener('change', syncLegal); });

  // The centres that take applications, named in the page's language; the first is the
  // default the server would pick anyway, so a failed list only loses the choice.
  var NAME_KEY = { 'uz-Latn': 'uz', 'uz-Cyrl': 'uz_cyrl', 'ru': 'ru', 'en': 'en' };
  function loadCentres() {
    var select = form.elements.centre;
    P.api('GET', '/api/v1/centres').then(function (r) {
      var chosen = state.applicant && state.applicant.centre;
      select.textContent = '';
      (r.centres || []).filter(function (c) { return c.status === 'active'; }).forEach(function (c) {
        var o = document.createElement('option');
        o.value = String(c.number);
        o.textContent = c.number + '. ' + ((c.name && (c.name[NAME_KEY[P.lang]] || c.name.uz)) || c.id);
        if (chosen && Number(chosen) === c.number) o.selected = true;
        select.appendChild(o);
      });
      select.closest('.field').hidden = select.options.length === 0;
    }, function () { select.closest('.field').hidden = true; });
  }

  function collect() {
    var data = { applicant_type: legal() ? 'legal_entity' : 'individual' };
    var centre = form.elements.centre.value;
    if (centre !== '') data.centre = Number(centre);
    var names = ['pinfl', 'surname', 'given_name', 'patronymic', 'birth_date', 'region', 'district', 'passport', 'phone'];
    if (legal()) names = names.concat(['company_inn', 'company_name', 'title']);
    names.forEach(function (n) {
      var v = form.elements[n].value.trim();
      if (n === 'passport') v = v.replace(/\s+/g, '').toUpperCase();
      if (n === 'pinfl' || n === 'company_inn') v = v.replace(/\s+/g, '');
      if (v !== '') data[n] = v;
    });
    return data;
  }

  function prefill() {
    var a = state.applicant;
    if (!a) return;
    Object.keys(a).forEach(function (n) {
      if (n === 'applicant_type') {
        form.querySelector('input[name="applicant_type"][value="' + a[n] + '"]').checked = true;
      } else if (form.elements[n] && n !== 'centre') {
        form.elements[n].value = a[n];
      }
    });
    syncLegal();
  }

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    P.clearErrors(form);
    var data = collect();
    // Fields the server requires but the browser left empty are named here, each next
    // to its field, so nothing is sent (and no SMS spent) until they are filled in.
    var required = ['pinfl', 'surname', 'given_name', 'birth_date', 'region', 'passport', 'phone'];
    if (legal()) required = required.concat(['company_inn', 'company_name', 'title']);
    var missing = required.filter(function (n) { return !data[n]; });
    if (missing.length) {
      missing.slice().reverse().forEach(function (n) { P.showError(form, n, T('form.missing')); });
      return;
    }
    var button = form.querySelector('button[type="submit"]');
    P.busy(button, 'form.sending', P.api('POST', '/api/v1/applications', data)).then(function (r) {
      state = { step: 'code', applicant: data, draft_id: r.draft_id, phone_masked: r.phone_masked };
      save();
      show('code', true);
      $('f-code').focus();
    }, function (err) { P.showApiError(form, err); });
  });

  var codeForm = $('code-form');
  codeForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    P.clearErrors(codeForm);
    var code = codeForm.elements.code.value.replace(/\s+/g, '');
    if (!code) { P.showError(codeForm, 'code', T('form.missing')); return; }
    var button = codeForm.querySelector('button[type="submit"]');
    var path = '/api/v1/applications/' + encodeURIComponent(state.draft_id) + '/phone';
    P.busy(button, 'form.sending', P.api('POST', path, { code: code })).then(function () {
      show('key', true);
    }, function (err) { P.showApiError(codeForm, err); });
  });

  $('resend').addEventListener('click', function () {
    P.clearErrors(codeForm);
    var path = '/api/v1/applications/' + encodeURIComponent(state.draft_id) + '/code/resend';
    P.busy($('resend'), 'form.sending', P.api('POST', path)).then(function (r) {
      state.phone_masked = r.phone_masked;
      save();
      $('code-sent').textContent = T('step1.code_resent', { phone: r.phone_masked });
    }, function (err) { P.showApiError(codeForm, err); });
  });

  $('restart').addEventListener('click', function () { show('start', true); });

  // ---- Step 2: the key (made by the module) and the documents ----

  function prepareKey() {
    var box = $('disks');
    box.textContent = T('module.checking');
    P.checkModule().then(function (running) {
      $('create-key').disabled = !running;
      if (!running) { box.textContent = ''; return null; }
      return ImzoClient.listDisks().then(function (disks) {
        box.textContent = '';
        if (!disks.length) { box.textContent = T('step2.no_disks'); return; }
        disks.forEach(function (d, i) {
          var label = document.createElement('label');
          label.className = 'choice';
          var input = document.createElement('input');
          input.type = 'radio';
          input.name = 'disk';
          input.value = d;
          if (i === 0) input.checked = true;
          label.appendChild(input);
          label.appendChild(document.createTextNode(' ' + d));
          box.appendChild(label);
        });
      });
    }).catch(function (e) { P.showError($('key-form'), 'key', T('error.module', { reason: e.message })); });
  }
  P.onModuleRetry(function () { if (state.step === 'key') prepareKey(); });

  function subject(a) {
    var cn = [a.surname, a.given_name, a.patronymic].filter(Boolean).join(' ').toUpperCase();
    return {
      cn: cn, surname: (a.surname || '').toUpperCase(), name: (a.given_name || '').toUpperCase(),
      st: a.region || null, l: a.district || null, c: 'UZ', o: a.company_name || null, t: a.title || null,
      pinfl: a.pinfl, inn: a.company_inn || null
    };
  }

  $('key-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var keyForm = $('key-form');
    P.clearErrors(keyForm);
    var chosen = keyForm.querySelector('input[name="disk"]:checked');
    if (!chosen) { P.showError(keyForm, 'disk', T('step2.choose_disk')); return; }
    var made = ImzoClient.createKey(chosen.value, subject(state.applicant || {}));
    P.busy($('create-key'), 'step2.creating', made).then(function (r) {
      state.key = { keyId: r.keyId, disk: r.disk, path: r.path, name: r.name, csr_64: r.csr_64 };
      try { localStorage.setItem('imzo.lastKey', r.name); } catch (e) { /* optional */ }
      save();
      show('docs', true);
    }, function (e) { P.showError(keyForm, 'key', T('error.module', { reason: e.message })); });
  });

  /** What the server accepts, judged by content as the server does: PDF, PNG or JPEG. */
  function sniff(bytes) {
    function starts(sig) { return sig.every(function (b, i) { return bytes[i] === b; }); }
    if (starts([0x25, 0x50, 0x44, 0x46, 0x2d])) return 'application/pdf';
    if (starts([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
    if (starts([0xff, 0xd8, 0xff])) return 'image/jpeg';
    return null;
  }

  function megabytes(n) { return (n / (1024 * 1024)).toFixed(1); }
  function size(n) { return n < 1024 * 1024 ? T('size.kb', { n: Math.max(1, Math.round(n / 1024)) }) : T('size.mb', { n: megabytes(n) }); }

  var docs = {};
  function checkDocument(name) {
    var input = $('f-doc-' + name);
    var preview = $('preview-doc-' + name);
    var docsForm = $('docs-form');
    var line = $('err-doc-' + name);
    line.hidden = true;
    input.removeAttribute('aria-invalid');
    preview.textContent = '';
    docs[name] = null;
    var file = input.files[0];
    if (!file) return Promise.resolve(null);
    function refuse(key, vars) { P.showError(docsForm, 'doc-' + name, T(key, vars)); return null; }
    if (file.size === 0) return Promise.resolve(refuse('doc.empty'));
    if (file.size > MAX_DOCUMENT) return Promise.resolve(refuse('doc.too_large', { size: megabytes(file.size) }));
    return file.slice(0, 8).arrayBuffer().then(function (buf) {
      var type = sniff(new Uint8Array(buf));
      if (!type) return refuse('doc.bad_type');
      docs[name] = file;
      var url = URL.createObjectURL(file);
      var caption = document.createElement('p');
      caption.textContent = T('doc.chosen', { name: file.name, size: size(file.size) });
      if (type === 'application/pdf') {
        var a = document.createElement('a');
        a.href = url;
        a.target = '_blank';
        a.rel = 'noopener';
        a.className = 'pdf';
        a.textContent = T('doc.open_pdf');
        preview.appendChild(caption);
        preview.appendChild(a);
      } else {
        var img = document.createElement('img');
        img.src = url;
        img.alt = T('doc.preview_alt', { name: file.name });
        preview.appendChild(img);
        preview.appendChild(caption);
      }
      return file;
    });
  }
  ['passport', 'selfie'].forEach(function (name) {
    $('f-doc-' + name).addEventListener('change', function () { checkDocument(name); });
  });

  function base64ToBytes(b64) {
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  $('docs-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var docsForm = $('docs-form');
    P.clearErrors(docsForm);
    var button = docsForm.querySelector('button[type="submit"]');
    Promise.all([checkDocument('passport'), checkDocument('selfie')]).then(function (files) {
      var ok = true;
      ['passport', 'selfie'].forEach(function (name, i) {
        if (!files[i] && $('err-doc-' + name).hidden) { P.showError(docsForm, 'doc-' + name, T('doc.missing')); }
        if (!files[i]) ok = false;
      });
      if (!ok) return;
      var body = new FormData();
      body.append('csr', new Blob([base64ToBytes(state.key.csr_64)], { type: 'application/pkcs10' }), 'request.p10');
      body.append('passport', files[0], files[0].name);
      body.append('selfie', files[1], files[1].name);
      var path = '/api/v1/applications/' + encodeURIComponent(state.draft_id) + '/submit';
      return P.busy(button, 'form.sending', P.api('POST', path, body)).then(function (r) {
        state.submitted = r;
        try { localStorage.setItem('imzo.lastNumber', r.number); } catch (e) { /* optional */ }
        save();
        show('pay', true);
      }, function (err) {
        P.showApiError(docsForm, err, { passport: 'doc-passport', selfie: 'doc-selfie', csr: 'csr' });
      });
    });
  });

  // ---- Step 3: number, amount, how to pay ----

  function showPayment() {
    var s = state.submitted;
    if (!s) { show('start'); return; }
    // The answer to the submission carries no state: it is awaiting payment.
    P.fillCard('a', Object.assign({ state: 'awaiting_payment' }, s));
    $('to-find').href = '/find?number=' + encodeURIComponent(s.number);
  }

  $('new-application').addEventListener('click', function () {
    state = { step: 'start' };
    save();
    form.reset();
    syncLegal();
    show('start', true);
  });

  prefill();
  loadCentres();
  syncLegal();
  show(state.step || 'start', false);
})();
