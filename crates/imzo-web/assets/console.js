/*
 * console.js — the operator console. The operator signs in with their own key through
 * the signing module: the module asks the password in its own window, then signs the
 * server's challenge. The operator API keeps no login session: every request (queue,
 * application, document, audit trail, search, decision) is a JSON document carrying a
 * fresh server challenge, signed (attached CMS) through the module. The page keeps only
 * the module's keyId (useless to any other site) in this tab's sessionStorage; nothing
 * secret goes into a URL.
 */
(function () {
  'use strict';
  var P = window.Portal;
  var T = P.T;
  function $(id) { return document.getElementById(id); }
  var KEY_ID = 'imzo.console.keyId';
  var WHO = 'imzo.console.who';
  var keys = [];
  var keyId = null;
  var current = null;
  var blobUrls = [];

  function store(name, value) {
    try { if (value === null) sessionStorage.removeItem(name); else sessionStorage.setItem(name, value); } catch (e) { /* storage off */ }
  }
  function stored(name) {
    try { return sessionStorage.getItem(name); } catch (e) { return null; }
  }

  /** The message `prefix` + `code` (a type, actor or audit action), or the code itself if none. */
  function named(prefix, code) {
    var text = T(prefix + code);
    return text.indexOf('[[') === 0 ? code : text;
  }

  /** A module error saying the key is no longer loaded for this site. */
  function keyGone(err) {
    return !(err instanceof P.ApiError) && err && /keyId/.test(err.message || '');
  }

  /** The signed body of an operator request `doc`: a fresh challenge, signed by the module. */
  function signed(doc) {
    return P.api('POST', '/api/v1/operator/challenge', {}).then(function (challenge) {
      doc.challenge_id = challenge.id;
      doc.challenge_base64 = challenge.challenge_base64;
      var data = ImzoClient.utf8ToBase64(JSON.stringify(doc));
      return ImzoClient.createPkcs7(data, keyId, false);
    }).then(function (r) { return { cms_base64: r.pkcs7_64 }; });
  }

  /** POSTs a signed operator request and resolves with the JSON answer. */
  function ask(path, doc) {
    return signed(doc).then(function (body) { return P.api('POST', path, body); });
  }

  /** POSTs a signed operator request and resolves with the answer's bytes as a Blob. */
  function askBlob(path, doc) {
    return signed(doc).then(function (body) {
      return fetch(path, {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'Accept-Language': P.lang },
        body: JSON.stringify(body)
      }).then(function (r) {
        if (r.ok) return r.blob();
        return r.json().then(function (j) { throw new P.ApiError(r.status, j); }, function () { throw new P.ApiError(r.status, null); });
      }, function () { throw new P.ApiError(0, { error: { code: 'network', text: T('error.network') } }); });
    });
  }

  /** Shows a failure in the banner (or next to `field` of `scope`); a lost key ends the session. */
  function failed(err, scope, fieldMap) {
    if (keyGone(err)) {
      endSession();
      P.showError(null, null, T('console.session_lost'));
      return;
    }
    if (err instanceof P.ApiError) P.showApiError(scope || null, err, fieldMap);
    else P.showError(scope || null, null, T('error.module', { reason: err && err.message ? err.message : String(err) }));
  }

  // ---- Sign in / out ----

  function listKeys() {
    var select = $('f-key');
    select.textContent = '';
    return P.checkModule().then(function (running) {
      $('login-btn').disabled = !running;
      if (!running) return;
      // Not ImzoClient.listAllKeys: like E-IMZO's libraries it hides certificates with
      // neither PINFL nor INN, and an operator's certificate names a person by role.
      return ImzoClient.plugin('pfx', 'list_all_certificates').then(function (r) {
        var list = (r.certificates || []).map(function (c) {
          return { disk: c.disk, path: c.path, name: c.name, alias: c.alias, fields: ImzoClient.parseAlias(c.alias) };
        });
        keys = list;
        if (!list.length) {
          P.showError($('login-form'), 'key', T('console.no_keys'));
          $('login-btn').disabled = true;
          return;
        }
        list.forEach(function (k, i) {
          var o = document.createElement('option');
          o.value = String(i);
          var who = k.fields && k.fields.cn ? k.fields.cn : '';
          o.textContent = k.name + (who ? ' — ' + who : '') + ' (' + k.disk + ')';
          select.appendChild(o);
        });
      });
    }).catch(function (e) { P.showError($('login-form'), 'key', T('error.module', { reason: e.message })); });
  }
  P.onModuleRetry(function () { if (!keyId) listKeys(); });

  $('login-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var form = $('login-form');
    P.clearErrors(form);
    var key = keys[parseInt($('f-key').value, 10)];
    if (!key) { P.showError(form, 'key', T('console.no_keys')); return; }
    var work = ImzoClient.loadKey(key).then(function (id) {
      keyId = id;
      // The challenge–response that signs in is the first signed request: the queue.
      return ask('/api/v1/operator/queue', { action: 'queue' });
    });
    P.busy($('login-btn'), 'console.working', work).then(function (queue) {
      var who = key.fields && key.fields.cn ? key.fields.cn : key.name;
      store(KEY_ID, keyId);
      store(WHO, who);
      startSession(who);
      showQueue(queue.applications);
    }, function (err) {
      if (keyId) { ImzoClient.unloadKey(keyId).catch(function () {}); keyId = null; }
      if (err instanceof P.ApiError) P.showApiError(form, err, { signed_request: 'key', cms: 'key' });
      else P.showError(form, 'key', T('error.module', { reason: err.message }));
    });
  });

  function startSession(who) {
    $('login').hidden = true;
    $('session').hidden = false;
    $('who').textContent = T('console.signed_in', { name: who });
    loadOutbox();
  }

  function endSession() {
    keyId = null;
    store(KEY_ID, null);
    store(WHO, null);
    current = null;
    $('session').hidden = true;
    $('detail').hidden = true;
    $('login').hidden = false;
    listKeys();
  }

  $('logout').addEventListener('click', function () {
    var id = keyId;
    endSession();
    if (id) ImzoClient.unloadKey(id).catch(function () { /* already unloaded */ });
  });

  // ---- Queue, search ----

  function paidAt(app) {
    return app.payment && app.payment.paid_at ? T('console.paid_at', { when: P.tashkentTime(app.payment.paid_at) }) : '';
  }

  /** One application as a list item with a button that opens it. */
  function item(app) {
    var li = document.createElement('li');
    var b = document.createElement('button');
    b.type = 'button';
    b.className = 'app-open';
    b.setAttribute('data-number', app.number);
    b.textContent = app.number + ' — ' + app.full_name;
    b.addEventListener('click', function () { openApplication(app.number); });
    li.appendChild(b);
    var meta = document.createElement('p');
    meta.className = 'meta';
    meta.textContent = [named('type.', app.applicant_type), P.stateName(app.state), paidAt(app)].filter(Boolean).join(' · ');
    li.appendChild(meta);
    return li;
  }

  function showQueue(apps) {
    var list = $('queue-list');
    list.textContent = '';
    apps.forEach(function (a) { list.appendChild(item(a)); });
    $('queue-empty').hidden = apps.length > 0;
  }

  function loadQueue() {
    P.clearErrors();
    return P.busy($('refresh'), 'console.working', ask('/api/v1/operator/queue', { action: 'queue' }))
      .then(function (q) { showQueue(q.applications); }, function (err) { failed(err); });
  }
  $('refresh').addEventListener('click', loadQueue);

  $('search-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var form = $('search-form');
    P.clearErrors(form);
    var q = form.elements.q.value.replace(/\s+/g, '');
    if (/^\d{12}$/.test(q)) { $('results').hidden = true; openApplication(q); return; }
    if (!/^\d{14}$/.test(q)) { P.showError(form, 'q', T('console.search_bad')); return; }
    var button = form.querySelector('button[type="submit"]');
    P.busy(button, 'console.working', ask('/api/v1/operator/search', { action: 'search', pinfl: q })).then(function (r) {
      var list = $('results-list');
      list.textContent = '';
      r.applications.forEach(function (a) { list.appendChild(item(a)); });
      if (!r.applications.length) {
        var li = document.createElement('li');
        li.textContent = T('console.no_results');
        list.appendChild(li);
      }
      $('results').hidden = false;
      $('results-h').focus();
    }, function (err) { failed(err, form, { pinfl: 'q' }); });
  });

  // ---- One application ----

  function set(name, text) {
    var dd = document.querySelector('[data-d="' + name + '"]');
    if (!dd) return;
    dd.textContent = text || '—';
    var dt = dd.previousElementSibling;
    var empty = !text;
    // Rows that do not apply (a company for an individual) are left out.
    dd.hidden = empty && (name === 'company' || name === 'rejection');
    if (dt) dt.hidden = dd.hidden;
  }

  function sizeText(bytes) {
    if (bytes < 1024 * 1024) return T('size.kb', { n: Math.max(1, Math.round(bytes / 1024)) });
    return T('size.mb', { n: (bytes / 1024 / 1024).toFixed(1) });
  }

  function showDetails(d) {
    current = d;
    $('detail-number').textContent = d.number;
    set('number', d.number);
    set('state', P.stateName(d.state));
    set('type', named('type.', d.applicant_type));
    set('name', d.full_name);
    set('pinfl', d.pinfl);
    var says = d.pinfl_birth_date
      ? T('console.pinfl_facts', { date: d.pinfl_birth_date, sex: T(d.pinfl_sex === 'female' ? 'console.female' : 'console.male') })
      : T('console.pinfl_undecodable');
    set('pinfl_says', says);
    var agrees = d.pinfl_birth_date === d.birth_date;
    set('birth_typed', d.birth_date + ' (' + T(agrees ? 'console.birth_agrees' : 'console.birth_differs') + ')');
    document.querySelector('[data-d="birth_typed"]').classList.toggle('differs', !agrees);
    set('address', d.region + (d.district ? ', ' + d.district : ''));
    set('passport', d.passport);
    set('phone', '+' + d.phone);
    set('company', d.company_name ? T('console.company_value', { name: d.company_name, inn: d.company_inn || '—', title: d.title || '—' }) : '');
    set('submitted', P.tashkentTime(d.submitted_at));
    set('fee', P.sum(d.fee_tiyin));
    set('payment', d.payment && d.payment.paid_at
      ? T('console.paid_via', { amount: P.sum(d.payment.amount_tiyin), provider: d.payment.provider, when: P.tashkentTime(d.payment.paid_at) })
      : T('console.not_paid'));
    set('rejection', d.rejection_reason || '');
    $('decide').hidden = d.state !== 'paid';
  }

  function clearDocuments() {
    blobUrls.forEach(function (u) { URL.revokeObjectURL(u); });
    blobUrls = [];
    document.querySelectorAll('.doc-view').forEach(function (v) { v.textContent = ''; });
  }

  /** Fetches document `info` (signed) and shows it: an image viewer, or the PDF in the page. */
  function loadDocument(number, info) {
    var view = document.querySelector('#doc-' + info.kind + ' .doc-view');
    if (!view) return Promise.resolve();
    view.textContent = T('console.doc_loading');
    var path = '/api/v1/operator/applications/' + encodeURIComponent(number) + '/documents/' + encodeURIComponent(info.kind);
    return askBlob(path, { action: 'document', application: number, kind: info.kind }).then(function (blob) {
      view.textContent = '';
      var url = URL.createObjectURL(blob);
      blobUrls.push(url);
      var name = named('field.', info.kind + '_scan');
      var caption = document.createElement('p');
      caption.className = 'hint';
      caption.textContent = T('doc.chosen', { name: info.media_type, size: sizeText(info.size) });
      if (/^image\//.test(info.media_type)) {
        var a = document.createElement('a');
        a.href = url;
        a.target = '_blank';
        a.rel = 'noopener';
        var img = document.createElement('img');
        img.src = url;
        img.alt = T('console.doc_alt', { name: name });
        a.appendChild(img);
        view.appendChild(a);
      } else {
        var frame = document.createElement('iframe');
        frame.src = url;
        frame.title = T('console.doc_alt', { name: name });
        view.appendChild(frame);
        var open = document.createElement('a');
        open.className = 'pdf';
        open.href = url;
        open.target = '_blank';
        open.rel = 'noopener';
        open.textContent = T('doc.open_pdf');
        view.appendChild(open);
      }
      view.appendChild(caption);
      return checkHash(view, blob, info.sha256);
    }, function (err) {
      view.textContent = '';
      failed(err);
    });
  }

  /** Shows whether the bytes shown are those recorded on upload (SHA-256, as listed). */
  function checkHash(view, blob, expected) {
    if (!window.crypto || !crypto.subtle) return Promise.resolve();
    return blob.arrayBuffer().then(function (bytes) { return crypto.subtle.digest('SHA-256', bytes); }).then(function (digest) {
      var hex = Array.prototype.map.call(new Uint8Array(digest), function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
      var same = hex === String(expected || '').toLowerCase();
      var p = document.createElement('p');
      p.className = 'doc-hash ' + (same ? 'ok' : 'warn');
      p.textContent = T(same ? 'console.hash_ok' : 'console.hash_differs', { sha: hex });
      view.appendChild(p);
    });
  }

  function actorText(actor) {
    var m = /^operator:(.+)$/.exec(actor);
    if (m) return T('actor.operator', { id: m[1] });
    return named('actor.', actor);
  }

  function actionText(entry) {
    var text = named('audit.', entry.action);
    if (entry.action === 'application.rejected' && entry.details && entry.details.reason) text += ': ' + entry.details.reason;
    return text;
  }

  function loadTrail(number) {
    var list = $('trail');
    list.textContent = '';
    var path = '/api/v1/operator/applications/' + encodeURIComponent(number) + '/audit';
    return ask(path, { action: 'audit', application: number }).then(function (r) {
      r.entries.forEach(function (e) {
        var li = document.createElement('li');
        li.setAttribute('data-action', e.action);
        li.textContent = T('console.trail_entry', { when: P.tashkentTime(e.at), actor: actorText(e.actor), action: actionText(e) });
        list.appendChild(li);
      });
      if (!r.entries.length) { var li = document.createElement('li'); li.textContent = T('console.empty'); list.appendChild(li); }
    }, function (err) { failed(err); });
  }

  function openApplication(number) {
    P.clearErrors();
    $('decided').hidden = true;
    var path = '/api/v1/operator/applications/' + encodeURIComponent(number);
    return ask(path, { action: 'show', application: number }).then(function (d) {
      clearDocuments();
      $('trail').textContent = '';
      $('app-sms').textContent = '';
      showDetails(d);
      $('queue').hidden = true;
      $('detail').hidden = false;
      $('detail-h').focus();
      // One signature after another: the module shows one dialog at a time.
      return d.documents.reduce(function (chain, info) {
        return chain.then(function () { return loadDocument(d.number, info); });
      }, Promise.resolve()).then(function () { return loadTrail(d.number); }).then(function () { return loadSms(d.phone); });
    }, function (err) { failed(err, $('search-form'), { application: 'q' }); });
  }

  $('back').addEventListener('click', function () {
    clearDocuments();
    current = null;
    $('detail').hidden = true;
    $('queue').hidden = false;
    loadQueue().then(function () { $('queue-h').focus(); });
  });

  function decided(view, key) {
    $('decided').textContent = T(key, { number: view.number });
    $('decided').hidden = false;
    current.state = view.state;
    current.rejection_reason = view.rejection_reason;
    showDetails(current);
    $('decided').setAttribute('tabindex', '-1');
    $('decided').focus();
    return loadTrail(view.number).then(function () { return loadSms(current.phone); }).then(loadOutbox);
  }

  $('approve-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!current) return;
    P.clearErrors();
    var work = ask('/api/v1/operator/decisions', { application: current.number, decision: 'approve' });
    P.busy($('approve-btn'), 'console.working', work).then(function (view) { return decided(view, 'console.approved'); },
      function (err) { failed(err); });
  });

  $('reject-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    if (!current) return;
    var form = $('reject-form');
    P.clearErrors(form);
    var code = form.elements.code.value;
    var reason = form.elements.reason.value.trim();
    if (!code) { P.showError(form, 'code', T('console.choose_reason')); return; }
    if (code === 'other' && !reason) { P.showError(form, 'reason', T('form.missing')); return; }
    var doc = { application: current.number, decision: 'reject', code: code, reason: reason };
    P.busy($('reject-btn'), 'console.working', ask('/api/v1/operator/decisions', doc)).then(function (view) {
      form.reset();
      return decided(view, 'console.rejected');
    }, function (err) { failed(err, form); });
  });

  // ---- SMS outbox (the embedded default's local queue) ----

  function smsItem(m) {
    var li = document.createElement('li');
    li.textContent = P.tashkentTime(m.created_at) + ' · +' + m.phone + ' · ' + m.text;
    return li;
  }

  function outbox() {
    return fetch('/api/v1/dev/outbox', { headers: { 'Accept': 'application/json' } }).then(function (r) {
      if (r.status === 404) return null;
      if (!r.ok) throw new P.ApiError(r.status, null);
      return r.json();
    });
  }

  function loadOutbox() {
    return outbox().then(function (list) {
      var ol = $('outbox-list');
      ol.textContent = '';
      $('outbox-off').hidden = list !== null;
      (list || []).slice(-30).reverse().forEach(function (m) { ol.appendChild(smsItem(m)); });
    }, function (err) { failed(err); });
  }
  $('outbox-refresh').addEventListener('click', loadOutbox);

  function loadSms(phone) {
    return outbox().then(function (list) {
      var ol = $('app-sms');
      ol.textContent = '';
      var mine = (list || []).filter(function (m) { return m.phone === phone; });
      mine.forEach(function (m) { ol.appendChild(smsItem(m)); });
      if (!mine.length) { var li = document.createElement('li'); li.textContent = list === null ? T('console.outbox_off') : T('console.empty'); ol.appendChild(li); }
    }, function (err) { failed(err); });
  }

  // ---- Start: resume this tab's session if the module still holds the key ----
  keyId = stored(KEY_ID);
  if (keyId) {
    startSession(stored(WHO) || '');
    P.checkModule().then(function () { return loadQueue(); });
  } else {
    listKeys();
  }
})();
