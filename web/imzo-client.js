/*
 * imzo-client.js — a dependency-free client for the Imzo signing module (`imzo agent`),
 * which speaks the E-IMZO module's WebSocket API. Works in browsers (global `ImzoClient`)
 * and as a CommonJS module.
 *
 *   const keys = await ImzoClient.listAllKeys();          // [{disk, path, name, alias, fields, ...}]
 *   const keyId = await ImzoClient.loadKey(keys[0]);     // the module asks the password itself
 *   const sig = await ImzoClient.signText('Hujjat', keyId); // {pkcs7_64, signature_hex, signer_serial_number}
 *
 * Every function returns a Promise; failures reject with an Error whose message is the
 * module's `reason` (show it to the user), with `.reply` holding the whole reply.
 * Passwords and confirmations are never handled by the page: the module shows its own
 * dialog. A page whose site is not yet approved makes the module ask the user once.
 *
 * Chromium (from version 147) asks the user before a public site may connect to
 * 127.0.0.1 (Local Network Access); pages served from localhost are not affected.
 */
(function (root, factory) {
  'use strict';
  if (typeof module === 'object' && module.exports) {
    module.exports = factory();
  } else {
    root.ImzoClient = factory();
  }
})(typeof self !== 'undefined' ? self : this, function () {
  'use strict';

  /** The oldest module version this library works with (E-IMZO numbering: major*100+minor). */
  var MIN_VERSION = 486;

  function defaultUrl() {
    var secure = typeof location !== 'undefined' && location.protocol === 'https:';
    return secure ? 'wss://127.0.0.1:64443/service/cryptapi' : 'ws://127.0.0.1:64646/service/cryptapi';
  }

  var client = {
    /** WebSocket address of the module; change it before the first call if needed. */
    url: defaultUrl(),
    /** Milliseconds to wait for a reply (dialogs wait for the user, so this is long). */
    timeout: 180000,
    MIN_VERSION: MIN_VERSION
  };

  /** Sends one message on a new connection and resolves with the reply (success true). */
  client.call = function (message) {
    var url = client.url;
    var timeout = client.timeout;
    return new Promise(function (resolve, reject) {
      var done = false;
      var ws;
      try {
        ws = new WebSocket(url);
      } catch (e) {
        reject(new Error('cannot connect to the signing module at ' + url + ': ' + e.message));
        return;
      }
      var timer = setTimeout(function () {
        finish(new Error('the signing module did not answer in time'));
      }, timeout);
      function finish(error, reply) {
        if (done) return;
        done = true;
        clearTimeout(timer);
        try { ws.close(); } catch (e) { /* already closed */ }
        if (error) reject(error); else resolve(reply);
      }
      ws.onopen = function () { ws.send(JSON.stringify(message)); };
      ws.onerror = function () {
        finish(new Error('the signing module is not running (cannot connect to ' + url + ')'));
      };
      ws.onclose = function () {
        finish(new Error('the signing module closed the connection without an answer'));
      };
      ws.onmessage = function (event) {
        var reply;
        try {
          reply = JSON.parse(event.data);
        } catch (e) {
          finish(new Error('the signing module sent something that is not JSON'));
          return;
        }
        if (reply.success === true) {
          finish(null, reply);
        } else {
          var err = new Error(reply.reason || 'the signing module refused the call');
          err.reply = reply;
          finish(err);
        }
      };
    });
  };

  /** Calls `plugin.name(args...)`. */
  client.plugin = function (plugin, name, args) {
    return client.call({ plugin: plugin, name: name, arguments: args || [] });
  };

  /** The module's version: {major, minor, number}. */
  client.version = function () {
    return client.call({ name: 'version' }).then(function (r) {
      return { major: r.major, minor: r.minor, number: parseInt(r.major, 10) * 100 + parseInt(r.minor, 10) };
    });
  };

  /** Resolves when the module runs and is new enough, otherwise rejects with a message. */
  client.checkVersion = function (min) {
    var need = min || MIN_VERSION;
    return client.version().then(function (v) {
      if (v.number < need) throw new Error('the signing module is too old: ' + v.number + ' < ' + need);
      return v;
    });
  };

  /** Announces domain API keys ([domain, key, domain, key, ...]); a hint to the module. */
  client.apikey = function (pairs) {
    return client.call({ name: 'apikey', arguments: pairs });
  };

  /** Splits an alias ("cn=…,1.2.860.3.16.1.2=…,validfrom=…") into an object. */
  client.parseAlias = function (alias) {
    var out = {};
    String(alias || '').split(',').forEach(function (part) {
      var i = part.indexOf('=');
      if (i > 0) out[part.slice(0, i).trim()] = part.slice(i + 1).trim();
    });
    out.pinfl = out['1.2.860.3.16.1.2'];
    out.inn = out['1.2.860.3.16.1.1'] || out.uid;
    ['validfrom', 'validto'].forEach(function (k) {
      var m = /^(\d{4})\.(\d{2})\.(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(out[k] || '');
      // Alias times are Asia/Tashkent (UTC+5).
      if (m) out[k] = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4] - 5, +m[5], +m[6]));
    });
    return out;
  };

  function decorate(list) {
    return (list || []).map(function (item) {
      var fields = client.parseAlias(item.alias);
      return {
        disk: item.disk, path: item.path, name: item.name, alias: item.alias, fields: fields,
        expired: fields.validto instanceof Date ? fields.validto.getTime() < Date.now() : false
      };
    }).filter(function (item) {
      // As the E-IMZO client libraries do: certificates with neither PINFL nor INN are skipped.
      return item.fields.pinfl || item.fields.inn;
    });
  }

  /** Disks (roots holding DSKEYS folders) the module sees. */
  client.listDisks = function () {
    return client.plugin('pfx', 'list_disks').then(function (r) { return r.disks; });
  };

  /** Every key file on every disk, with its alias parsed into `fields`. */
  client.listAllKeys = function () {
    return client.plugin('pfx', 'list_all_certificates').then(function (r) { return decorate(r.certificates); });
  };

  /** The key files of one disk. */
  client.listKeys = function (disk) {
    return client.plugin('pfx', 'list_certificates', [disk]).then(function (r) { return decorate(r.certificates); });
  };

  /** Loads a key listed by listAllKeys (the module asks the password); resolves to a keyId. */
  client.loadKey = function (item) {
    return client.plugin('pfx', 'load_key', [item.disk, item.path, item.name, item.alias || ''])
      .then(function (r) { return r.keyId; });
  };

  /** Unloads a key. */
  client.unloadKey = function (keyId) { return client.plugin('pfx', 'unload_key', [keyId]); };

  /** Makes the module ask the key's password again and check it. */
  client.verifyPassword = function (keyId) { return client.plugin('pfx', 'verify_password', [keyId]); };

  /** Makes the module ask the current and a new password for the key file. */
  client.changePassword = function (keyId) { return client.plugin('pfx', 'change_password', [keyId]); };

  /** Base64 of the UTF-8 bytes of a string. */
  client.utf8ToBase64 = function (text) {
    var bytes = new TextEncoder().encode(text);
    var bin = '';
    for (var i = 0; i < bytes.length; i += 0x8000) {
      bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(bin);
  };

  /** Signs base64 data: {pkcs7_64, signature_hex, signer_serial_number}. `detached`: boolean. */
  client.createPkcs7 = function (dataBase64, keyId, detached) {
    return client.plugin('pkcs7', 'create_pkcs7', [dataBase64, keyId, detached ? 'yes' : 'no']);
  };

  /** Signs a text (UTF-8), attached unless `detached`. */
  client.signText = function (text, keyId, detached) {
    return client.createPkcs7(client.utf8ToBase64(text), keyId, detached);
  };

  /** Adds a co-signature to an attached signature. */
  client.appendPkcs7Attached = function (pkcs7Base64, keyId) {
    return client.plugin('pkcs7', 'append_pkcs7_attached', [pkcs7Base64, keyId]);
  };

  /** Adds a co-signature to a detached signature of `dataBase64`. */
  client.appendPkcs7Detached = function (pkcs7Base64, keyId, dataBase64) {
    return client.plugin('pkcs7', 'append_pkcs7_detached', [pkcs7Base64, keyId, dataBase64]);
  };

  /** Signers, certificates (and document_64) of an attached signature. */
  client.getPkcs7AttachedInfo = function (pkcs7Base64) {
    return client.plugin('pkcs7', 'get_pkcs7_attached_info', [pkcs7Base64]);
  };

  /** Signers and certificates of a detached signature. */
  client.getPkcs7DetachedInfo = function (pkcs7Base64, dataBase64) {
    return client.plugin('pkcs7', 'get_pkcs7_detached_info', [pkcs7Base64, dataBase64]);
  };

  /** {valid, signers} of an attached signature, against the module's trust anchors. */
  client.verifyPkcs7Attached = function (pkcs7Base64) {
    return client.plugin('pkcs7', 'verify_pkcs7_attached', [pkcs7Base64]);
  };

  /** {valid, signers} of a detached signature. */
  client.verifyPkcs7Detached = function (pkcs7Base64, dataBase64) {
    return client.plugin('pkcs7', 'verify_pkcs7_detached', [pkcs7Base64, dataBase64]);
  };

  /** Certificates (base64 DER, own first) of a loaded key. */
  client.getCertificateChain = function (keyId) {
    return client.plugin('x509', 'get_certificate_chain', [keyId]).then(function (r) { return r.certificates; });
  };

  /** Fields of a certificate (base64 DER). */
  client.getCertificateInfo = function (certBase64) {
    return client.plugin('x509', 'get_certificate_info', [certBase64]).then(function (r) { return r.certificate_info; });
  };

  /** Enrolment: new key + PKCS#10 + temporary .pfx on `disk` for `subject`
   * ({cn, surname, name, l, st, c, o, t, uid, pinfl, inn, businesscategory});
   * resolves to {keyId, disk, path, name, alias, csr_64}. */
  client.createKey = function (disk, subject, algorithm) {
    return client.plugin('imzo', 'create_key', [disk, subject, algorithm || '']);
  };

  /** Enrolment: installs the issued certificate (and chain, base64 DER) into the key file. */
  client.installCertificate = function (keyId, certBase64, chainBase64) {
    return client.plugin('imzo', 'install_certificate', [keyId, certBase64, chainBase64 || []]);
  };

  /** Enrolment: proof of possession over a server challenge (base64); resolves to pkcs7_64. */
  client.signChallenge = function (keyId, challengeBase64) {
    return client.plugin('imzo', 'sign_challenge', [keyId, challengeBase64]).then(function (r) { return r.pkcs7_64; });
  };

  return client;
});
