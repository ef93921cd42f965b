/*
 * portal.js — what every portal page shares: the page's messages (T), calls to the JSON
 * API in the page's language, errors shown next to the field they name, the signing
 * module's detection, money and time display. No dependencies, no build step.
 */
(function () {
  'use strict';
  var dictNode = document.getElementById('imzo-i18n');
  var dict = dictNode ? JSON.parse(dictNode.textContent) : {};
  var lang = document.documentElement.getAttribute('data-api-lang') || 'uz-Latn';

  /** The message `key` in the page's language, `{name}` placeholders filled from `vars`. */
  function T(key, vars) {
    var s = dict[key];
    if (typeof s !== 'string') return '[[' + key + ']]';
    if (vars) {
      Object.keys(vars).forEach(function (k) { s = s.split('{' + k + '}').join(String(vars[k])); });
    }
    return s;
  }

  /** An API refusal: HTTP status, stable code, the field at fault, text in the page's language. */
  function ApiError(status, body) {
    var e = (body && body.error) || {};
    this.status = status;
    this.code = e.code || 'http_' + status;
    this.field = e.field || null;
    this.text = e.text || (e.message && e.message.en) || T('error.http', { status: status });
    this.retryAfter = null;
  }

  /** Calls the JSON API; resolves with the parsed answer or rejects with an ApiError. */
  function api(method, path, body) {
    var init = { method: method, headers: { 'Accept-Language': lang, 'Accept': 'application/json' }, credentials: 'same-origin' };
    if (body instanceof FormData) {
      init.body = body;
    } else if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      return r.text().then(function (text) {
        var json = null;
        try { json = text ? JSON.parse(text) : null; } catch (e) { json = null; }
        if (!r.ok) {
          var err = new ApiError(r.status, json);
          var after = r.headers.get('Retry-After');
          if (after) err.retryAfter = parseInt(after, 10);
          throw err;
        }
        return json;
      });
    }, function () {
      throw new ApiError(0, { error: { code: 'network', text: T('error.network') } });
    });
  }

  /** Hides every error line inside `scope` and clears aria-invalid. */
  function clearErrors(scope) {
    (scope || document).querySelectorAll('.error').forEach(function (p) { p.hidden = true; p.textContent = ''; });
    (scope || document).querySelectorAll('[aria-invalid]').forEach(function (i) { i.removeAttribute('aria-invalid'); });
    var banner = document.getElementById('form-error');
    if (banner) { banner.hidden = true; banner.textContent = ''; }
  }

  /** Shows `text` next to field `name` inside `scope` (or in the page's banner if no such field). */
  function showError(scope, name, text) {
    var line = name ? (scope || document).querySelector('#err-' + CSS.escape(name)) : null;
    if (!line) {
      line = document.getElementById('form-error');
      if (!line) { window.alert(text); return; }
    }
    line.textContent = text;
    line.hidden = false;
    var input = name ? (scope || document).querySelector('[name="' + CSS.escape(name) + '"]') : null;
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.focus();
    } else {
      line.setAttribute('tabindex', '-1');
      line.focus();
    }
  }

  /** Shows an API refusal: next to its field when the page has one, else in the banner. */
  function showApiError(scope, err, fieldMap) {
    if (!(err instanceof ApiError)) {
      showError(scope, null, (err && err.message) ? T('error.module', { reason: err.message }) : String(err));
      return;
    }
    var text = err.text;
    if (err.status === 429 && err.retryAfter) text += ' ' + T('error.retry_after', { seconds: err.retryAfter });
    var name = err.field && fieldMap && fieldMap[err.field] ? fieldMap[err.field] : err.field;
    showError(scope, name, text);
  }

  /** Sum from tiyin, grouped as people write it: "18 900.00". */
  function sum(tiyin) {
    var whole = Math.floor(tiyin / 100).toString().replace(/\B(?=(\d{3})+(?!\d))/g, '\u00a0');
    var part = ('0' + (tiyin % 100)).slice(-2);
    return T('money.sum', { amount: whole + '.' + part });
  }

  /** A time in Tashkent, in the page's language where the browser knows it. */
  function tashkentTime(iso) {
    var d = new Date(iso);
    try {
      return new Intl.DateTimeFormat(lang, { timeZone: 'Asia/Tashkent', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).format(d) + ' ' + T('time.tashkent');
    } catch (e) {
      return d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
    }
  }

  /** "7 h 59 min left" until `iso`, or that the time is over. */
  function timeLeft(iso) {
    var ms = new Date(iso).getTime() - Date.now();
    if (ms <= 0) return T('time.over');
    var minutes = Math.floor(ms / 60000);
    return T('time.left', { hours: Math.floor(minutes / 60), minutes: minutes % 60 });
  }

  /** The state of an application in words. */
  function stateName(state) {
    var key = 'state.' + state;
    return typeof dict[key] === 'string' ? dict[key] : state;
  }

  /** Fills a card made by the server (`prefix`-number, -state, -amount, -deadline, -left, -pay). */
  function fillCard(prefix, app) {
    function set(id, text) { var n = document.getElementById(prefix + '-' + id); if (n) n.textContent = text; }
    set('number', app.number);
    set('state', app.state ? stateName(app.state) : '');
    set('amount', app.fee_sum ? T('money.sum', { amount: app.fee_sum }) : sum(app.fee_tiyin));
    set('deadline', tashkentTime(app.pay_before));
    var left = document.getElementById(prefix + '-left');
    var payable = !app.state || app.state === 'awaiting_payment';
    if (left) {
      clearInterval(left._timer);
      if (payable) {
        left.textContent = '(' + timeLeft(app.pay_before) + ')';
        left._timer = setInterval(function () { left.textContent = '(' + timeLeft(app.pay_before) + ')'; }, 30000);
      } else {
        left.textContent = '';
      }
    }
    var pay = document.getElementById(prefix + '-pay');
    if (!pay) return;
    var buttons = pay.querySelector('.pay-buttons');
    var printed = pay.querySelector('.print-links');
    buttons.textContent = '';
    printed.textContent = '';
    var links = payable && app.pay ? app.pay : {};
    var names = [['payme', 'Payme'], ['click', 'Click'], ['paynet', 'Paynet'], ['sandbox_providers', T('pay.sandbox')]];
    var any = false;
    names.forEach(function (pair) {
      var href = links[pair[0]];
      if (!href) return;
      any = true;
      var a = document.createElement('a');
      a.className = 'button pay-' + pair[0];
      a.href = href;
      a.textContent = T('pay.with', { provider: pair[1] });
      buttons.appendChild(a);
      buttons.appendChild(document.createTextNode(' '));
      var line = document.createElement('span');
      line.textContent = pair[1] + ': ' + new URL(href, location.href).href;
      printed.appendChild(line);
      printed.appendChild(document.createElement('br'));
    });
    pay.hidden = !any;
  }

  /** The module's address: the default, or one set for this browser (tests, other ports). */
  try {
    var override = window.localStorage.getItem('imzoAgentUrl');
    if (override && window.ImzoClient) window.ImzoClient.url = override;
  } catch (e) { /* storage off: the default stays */ }

  /** Checks the module; shows the matching part of every module box. Resolves to true if it runs. */
  function checkModule() {
    var boxes = document.querySelectorAll('[data-module]');
    boxes.forEach(function (b) {
      b.querySelector('[data-module-checking]').hidden = false;
      b.querySelector('[data-module-ok]').hidden = true;
      b.querySelector('[data-module-missing]').hidden = true;
    });
    if (!window.ImzoClient) return Promise.resolve(false);
    return window.ImzoClient.checkVersion().then(function (v) {
      boxes.forEach(function (b) {
        b.querySelector('[data-module-checking]').hidden = true;
        var ok = b.querySelector('[data-module-ok]');
        ok.textContent = T('module.ok', { version: v.major + '.' + v.minor });
        ok.hidden = false;
      });
      return true;
    }, function () {
      boxes.forEach(function (b) {
        b.querySelector('[data-module-checking]').hidden = true;
        b.querySelector('[data-module-missing]').hidden = false;
      });
      return false;
    });
  }

  /** Runs `fn` when a retry button of a module box is pressed. */
  function onModuleRetry(fn) {
    document.querySelectorAll('[data-module-retry]').forEach(function (b) { b.addEventListener('click', fn); });
  }

  /** Disables `button` while `promise` runs, showing `busyKey`'s text. */
  function busy(button, busyKey, promise) {
    var label = button.textContent;
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    button.textContent = T(busyKey);
    function done() { button.disabled = false; button.removeAttribute('aria-busy'); button.textContent = label; }
    return promise.then(function (v) { done(); return v; }, function (e) { done(); throw e; });
  }

  document.querySelectorAll('[data-print]').forEach(function (b) {
    b.addEventListener('click', function () { window.print(); });
  });

  window.Portal = {
    T: T, api: api, ApiError: ApiError, lang: lang, clearErrors: clearErrors, showError: showError,
    showApiError: showApiError, sum: sum, tashkentTime: tashkentTime, timeLeft: timeLeft, stateName: stateName,
    fillCard: fillCard, checkModule: checkModule, onModuleRetry: onModuleRetry, busy: busy
  };
})();
