/*
 * find.js — step 4: find an application by number and captcha, see its status (and pay
 * or print it), confirm an approved one with the key (the module signs the server's
 * challenge), then get the certificate, installed into the .pfx and downloadable.
 */
(function () {
  'use strict';
  var P = window.Portal;
  var T = P.T;
  function $(id) { return document.getElementById(id); }
  var form = $('lookup-form');
  var captchaId = null;
  var current = null;
  var keys = [];

  function loadCaptcha() {
    form.elements.answer.value = '';
    return P.api('POST', '/api/v1/captcha').then(function (c) {
      captchaId = c.id;
      $('captcha-img').src = 'data:image/png;base64,' + c.image_png_base64;
    }, function (err) { P.showApiError(form, err); });
  }
  $('captcha-new').addEventListener('click', function () { loadCaptcha().then(function () { form.elements.answer.focus(); }); });

  var params = new URLSearchParams(location.search);
  var number = params.get('number');
  if (!number) { try { number = localStorage.getItem('imzo.lastNumber'); } catch (e) { number = null; } }
  if (number) form.elements.number.value = number;
  loadCaptcha();

  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    P.clearErrors(form);
    var n = form.elements.number.value.replace(/\s+/g, '');
    var answer = form.elements.answer.value.trim();
    if (!n) { P.showError(form, 'number', T('form.missing')); return; }
    if (!answer) { P.showError(form, 'answer', T('form.missing')); return; }
    var button = form.querySelector('button[type="submit"]');
    var asked = P.api('POST', '/api/v1/lookup', { number: n, captcha_id: captchaId, answer: answer });
    P.busy(button, 'form.sending', asked).then(function (r) {
      current = r;
      showStatus(r);
    }, function (err) {
      // The captcha's errors name no field: they belong next to the answer.
      var field = /^captcha_/.test(err.code) ? 'answer' : err.field;
      if (err instanceof P.ApiError) { err.field = field; }
      P.showApiError(form, err);
    }).then(function () { loadCaptcha(); });
  });

  function showStatus(app) {
    $('status').hidden = false;
    P.fillCard('s', app);
    var note = 'note.' + app.state;
    $('state-note').textContent = T(note);
    $('confirm').hidden = app.state !== 'approved';
    $('certificate').hidden = true;
    if (app.state === 'approved') prepareConfirm();
    if (app.state === 'issued') {
      P.api('GET', '/api/v1/applications/' + encodeURIComponent(app.number) + '/certificate').then(function (issued) {
        showCertificate(issued, null);
      }, function (err) { P.showApiError(null, err); });
    }
    var h = $('status-h');
    h.setAttribute('tabindex', '-1');
    h.focus();
  }

  function prepareConfirm() {
    var select = $('f-key');
    select.textContent = '';
    P.checkModule().then(function (running) {
      $('confirm-btn').disabled = !running;
      if (!running) return null;
      return ImzoClient.listAllKeys().then(function (list) {
        keys = list;
        var last = null;
        try { last = localStorage.getItem('imzo.lastKey'); } catch (e) { last = null; }
        if (!list.length) { P.showError($('confirm-form'), 'key', T('confirm.no_keys')); $('confirm-btn').disabled = true; return; }
        list.forEach(function (k, i) {
          var o = document.createElement('option');
          o.value = String(i);
          var who = k.fields.cn ? k.fields.cn.toUpperCase() : '';
          o.textContent = k.name + (who ? ' — ' + who : '') + ' (' + k.disk + ')';
          if (k.name === last) o.selected = true;
          select.appendChild(o);
        });
      });
    }).catch(function (e) { P.showError($('confirm-form'), 'key', T('error.module', { reason: e.message })); });
  }
  P.onModuleRetry(function () { if (current && current.state === 'approved') prepareConfirm(); });

  function pemBlocks(pem) {
    var out = [];
    var re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
    var m;
    while ((m = re.exec(pem || '')) !== null) out.push(m[1].replace(/\s+/g, ''));
    return out;
  }

  $('confirm-form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var cform = $('confirm-form');
    P.clearErrors(cform);
    var key = keys[parseInt($('f-key').value, 10)];
    if (!key || !current) { P.showError(cform, 'key', T('confirm.no_keys')); return; }
    var n = current.number;
    var keyId = null;
    var issued = null;
    // Module errors are the module's own words; API errors come in the page's language.
    var work = ImzoClient.loadKey(key).then(function (id) {
      keyId = id;
      return P.api('POST', '/api/v1/applications/' + encodeURIComponent(n) + '/challenge');
    }).then(function (challenge) {
      return ImzoClient.signChallenge(keyId, challenge.challenge_base64).then(function (cms) {
        return P.api('POST', '/api/v1/applications/' + encodeURIComponent(n) + '/confirm',
          { challenge_id: challenge.id, cms_base64: cms });
      });
    }).then(function (result) {
      issued = result;
      var chain = pemBlocks(result.chain_pem);
      return ImzoClient.installCertificate(keyId, pemBlocks(result.certificate_pem)[0], chain).then(
        function () { return { ok: true }; },
        function (e) { return { ok: false, reason: e.message }; });
    });
    P.busy($('confirm-btn'), 'confirm.working', work).then(function (installed) {
      current.state = 'issued';
      P.fillCard('s', current);
      $('state-note').textContent = T('note.issued');
      $('confirm').hidden = true;
      showCertificate(issued, installed, key);
    }, function (err) {
      if (err instanceof P.ApiError) P.showApiError(cform, err, { cms_base64: 'key', challenge_id: 'key' });
      else P.showError(cform, 'key', T('error.module', { reason: err.message }));
    });
  });

  function blobLink(a, text, name, type) {
    if (a._url) URL.revokeObjectURL(a._url);
    a._url = URL.createObjectURL(new Blob([text], { type: type }));
    a.href = a._url;
    a.setAttribute('download', name);
  }

  function showCertificate(issued, installed, key) {
    $('certificate').hidden = false;
    $('cert-serial').textContent = issued.serial;
    $('cert-pem').textContent = issued.certificate_pem;
    var note = '';
    if (installed && installed.ok) note = T('cert.installed', { file: key.disk + '/' + key.path + '/' + key.name + '.pfx' });
    else if (installed) note = T('cert.install_failed', { reason: installed.reason });
    else note = T('cert.issued_earlier');
    $('cert-installed').textContent = note;
    blobLink($('cert-download'), issued.certificate_pem, issued.serial + '.pem', 'application/x-pem-file');
    blobLink($('chain-download'), issued.chain_pem, 'chain-' + issued.serial + '.pem', 'application/x-pem-file');
    $('cert-der').href = '/api/v1/certificates/' + encodeURIComponent(issued.serial) + '.der';
    $('cert-subject').textContent = '';
    $('cert-valid').textContent = '';
    var der = pemBlocks(issued.certificate_pem)[0];
    if (window.ImzoClient && der) {
      ImzoClient.getCertificateInfo(der).then(function (info) {
        $('cert-subject').textContent = info.subjectName;
        $('cert-valid').textContent = T('cert.valid_range', { from: P.tashkentTime(info.validFrom), to: P.tashkentTime(info.validTo) });
      }, function () { /* the module is not running: the PEM below says it all */ });
    }
    var h = $('cert-h');
    h.setAttribute('tabindex', '-1');
    h.focus();
  }
})();
