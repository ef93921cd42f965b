// Walks the whole main job in headless Chromium at 375 px against a running `imzo up` and
// `imzo agent` (run by crates/imzo/tests/portal_browser.rs), in ONE browser run:
//   node portal.mjs CONFIG_JSON
// CONFIG_JSON: {base, agent, closed_agent, shots, fixtures, key_drive, pin_file, key_pin_file,
// operator_pin_file, operator_key, print_captcha, confirm_captcha, captcha_answer}.
//  0. the home page in Russian with the module "not running" (its address points at a
//     closed port): the install instructions and the /download/imzo link;
//  1–3. the applicant's steps 1–3 (English, then Uzbek Cyrillic after the switch);
//     before paying, /find's status in print mode (number, amount, pay links);
//     then the sandbox payment;
//  console: the operator signs in to /console with the operator's key (challenge–response
//     through the module; the pinentry's `pin` file now holds the operator's password)
//     and approves the application from the queue;
//  4. the applicant (the pin file back to the key password) finds the application in
//     Russian, confirms it with the key, gets the certificate installed and downloads it.
// Saves a screenshot of every step in SHOTS and prints one JSON line: {"ok": true, ...}
// or {"ok": false, "error": "...", "step": "..."}.
import fs from 'node:fs';
import path from 'node:path';
import { approveOpen, checkPage, expect, launch, openFromQueue, operatorSignIn, phoneContext } from './lib.mjs';

const cfg = JSON.parse(process.argv[2]);
const { base, shots } = cfg;
const browser = await launch();
let step = 'start';
const out = { ok: false, shots: [] };
const pageErrors = [];
let lastPage = null;

async function shot(page, name) {
  const file = path.join(shots, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  out.shots.push(file);
}

async function newPage(context, who) {
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  page.on('pageerror', (e) => pageErrors.push(`${who}: ${e.message}`));
  lastPage = page;
  return page;
}

/** What the module's pinentry types from now on: the content of `file`. */
function pinFrom(file) {
  fs.copyFileSync(file, cfg.pin_file);
}

async function smsCode(page, phone) {
  for (let i = 0; i < 100; i++) {
    const r = await page.request.get(base + '/api/v1/dev/outbox');
    const msgs = (await r.json()).filter((m) => m.phone === phone);
    const m = msgs.length ? /\b(\d{6})\b/.exec(msgs[msgs.length - 1].text) : null;
    if (m) return m[1];
    await new Promise((res) => setTimeout(res, 200));
  }
  throw new Error('no SMS code for ' + phone);
}

/**
 * Opens /find in `lang` and looks `number` up. The captcha is made to stop robots: the
 * page gets a real one from the server, with the id swapped for one whose answer the
 * test planted in the database.
 */
async function lookUp(page, lang, number, captchaId, shotName) {
  await page.route('**/api/v1/captcha', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.id = captchaId;
    await route.fulfill({ response, json: body });
  });
  await page.goto(`${base}/find?lang=${lang}&number=${number}`);
  await page.locator('#captcha-img[src^="data:image/png"]').waitFor();
  await page.fill('#f-answer', cfg.captcha_answer);
  await checkPage(page, `find (${lang})`);
  if (shotName) await shot(page, shotName);
  await page.click('#lookup-form button[type="submit"]');
  await page.locator('#status').waitFor({ state: 'visible' });
}

/** 0. The module is not running: the box says so in Russian and tells how to install it. */
async function moduleMissing() {
  step = 'module missing';
  const context = await phoneContext(browser, cfg.closed_agent);
  const page = await newPage(context, 'module missing');
  await page.goto(base + '/?lang=ru');
  const box = page.locator('[data-module-missing]').first();
  await box.waitFor({ state: 'visible' });
  expect(await page.locator('[data-module-ok]').first().isHidden(), 'the module is said to run on a closed port');
  const m = {};
  m.title = await box.locator('h2').innerText();
  m.systems = await box.locator('details.os > summary').allInnerTexts();
  // The Linux instructions open like any <details>: the download link is inside.
  await box.locator('details.os > summary', { hasText: 'Linux' }).click();
  const link = box.locator('a[href="/download/imzo"]');
  await link.waitFor({ state: 'visible' });
  m.download_visible = await link.isVisible();
  m.download_text = await box.locator('li:has(a[href="/download/imzo"])').innerText();
  m.text = await box.innerText();
  m.retry = await box.locator('[data-module-retry]').innerText();
  m.lang = await page.evaluate(() => document.documentElement.lang);
  const head = await page.request.fetch(base + '/download/imzo', { method: 'HEAD' });
  m.download_status = head.status();
  await checkPage(page, 'module missing');
  await shot(page, '00-module-missing');
  out.module_missing = m;
  await context.close();
}

/** /find's status printed, before payment: number, amount and the pay links on paper. */
async function printStatus(context, number) {
  step = 'find print';
  const page = await newPage(context, 'find print');
  await lookUp(page, 'en', number, cfg.print_captcha, null);
  await page.locator('#s-pay .print-links').filter({ hasText: /\S/ }).waitFor({ state: 'attached' });
  const p = {};
  p.screen_print_links_hidden = await page.locator('#s-pay .print-links').isHidden();
  p.screen_buttons_visible = await page.locator('#s-pay .pay-buttons a').first().isVisible();
  await page.emulateMedia({ media: 'print' });
  p.number_visible = await page.locator('#s-number').isVisible();
  p.number = (await page.locator('#s-number').innerText()).trim();
  p.amount_visible = await page.locator('#s-amount').isVisible();
  p.amount = await page.locator('#s-amount').innerText();
  p.state = await page.locator('#s-state').innerText();
  p.pay_visible = await page.locator('#s-pay').isVisible();
  p.links_visible = await page.locator('#s-pay .print-links').isVisible();
  p.links = await page.locator('#s-pay .print-links').innerText();
  p.buttons_hidden = await page.locator('#s-pay .pay-buttons').isHidden();
  p.form_hidden = await page.locator('#lookup-form').isHidden();
  p.print_button_hidden = await page.locator('[data-print]').first().isHidden();
  await shot(page, '07-find-print');
  await page.emulateMedia({ media: null });
  out.print = p;
  await page.close();
}

/** 1–3, the print check, and the sandbox payment; returns the application number. */
async function apply(context) {
  const fixtures = cfg.fixtures;
  const page = await newPage(context, 'apply');
  step = 'home';
  await page.goto(base + '/?lang=en');
  await page.locator('[data-module-ok]').waitFor({ state: 'visible' });
  out.module_text = await page.locator('[data-module-ok]').innerText();
  await checkPage(page, 'home');
  await shot(page, '01-home');
  // Keyboard only: Tab from the top of the page to "Get an e-signature key", then Enter.
  for (let i = 0; i < 12; i++) {
    await page.keyboard.press('Tab');
    const label = await page.evaluate(() => document.activeElement && document.activeElement.textContent);
    if (label === 'Get an e-signature key') break;
  }
  await Promise.all([page.waitForURL('**/apply'), page.keyboard.press('Enter')]);

  step = 'step 1';
  // The centres come from the API, named in the page's language; apply at centre 3.
  await page.locator('#f-centre option[value="3"]').waitFor({ state: 'attached' });
  out.centres = await page.locator('#f-centre option').count();
  await page.selectOption('#f-centre', '3');
  await page.fill('#f-pinfl', '32808810170067'); // wrong check digit: the server says so next to the field
  await page.fill('#f-surname', 'Aliyev');
  await page.fill('#f-given_name', 'Vali');
  await page.fill('#f-patronymic', "G'aniyevich");
  await page.fill('#f-birth_date', '1981-08-28');
  await page.selectOption('#f-region', 'Toshkent shahri');
  await page.fill('#f-district', 'Yunusobod tumani');
  await page.fill('#f-passport', 'aa 1234567');
  await page.fill('#f-phone', '+998 90 123 45 67');
  await page.click('#start-form button[type="submit"]');
  await page.locator('#err-pinfl').waitFor({ state: 'visible' });
  out.pinfl_error = await page.locator('#err-pinfl').innerText();
  out.pinfl_invalid = await page.getAttribute('#f-pinfl', 'aria-invalid');
  await shot(page, '02-step1-server-error');
  await page.fill('#f-pinfl', '32808810170066');
  await page.click('#start-form button[type="submit"]');
  await page.locator('#code-form').waitFor({ state: 'visible' });
  out.code_sent = await page.locator('#code-sent').innerText();
  const code = await smsCode(page, '998901234567');
  await page.focus('#f-code');
  await page.keyboard.type(code);
  await checkPage(page, 'step 1 code');
  await shot(page, '03-step1-sms-code');
  await page.keyboard.press('Enter');

  step = 'step 2';
  await page.locator('#disks input[name="disk"]').first().waitFor({ state: 'visible' });
  out.disks = await page.locator('#disks input[name="disk"]').evaluateAll((l) => l.map((i) => i.value));
  await checkPage(page, 'step 2');
  // The module also sees the operator's folder: the applicant picks the flash drive.
  await page.check(`#disks input[name="disk"][value="${cfg.key_drive}"]`);
  await shot(page, '04-step2-key');
  await page.click('#create-key');
  await page.locator('#key-made').waitFor({ state: 'visible', timeout: 120000 });
  out.key_made = await page.locator('#key-made').innerText();
  // The page refuses what the server would: a text file named .pdf.
  await page.setInputFiles('#f-doc-passport', path.join(fixtures, 'not-a-pdf.pdf'));
  await page.locator('#err-doc-passport').waitFor({ state: 'visible' });
  out.bad_document_error = await page.locator('#err-doc-passport').innerText();
  await page.setInputFiles('#f-doc-passport', path.join(fixtures, 'passport.pdf'));
  await page.setInputFiles('#f-doc-selfie', path.join(fixtures, 'selfie.png'));
  await page.locator('#preview-doc-selfie img').waitFor({ state: 'visible' });
  await page.locator('#preview-doc-passport a.pdf').waitFor({ state: 'visible' });
  expect(await page.locator('#err-doc-passport').isHidden(), 'the passport error stayed after a good file');
  await checkPage(page, 'step 2 documents');
  await shot(page, '05-step2-documents');
  await page.click('#docs-form button[type="submit"]');

  step = 'step 3';
  await page.locator('#step3').waitFor({ state: 'visible' });
  out.number = (await page.locator('#a-number').innerText()).trim();
  out.amount = await page.locator('#a-amount').innerText();
  out.deadline = await page.locator('#a-deadline').innerText();
  out.left = await page.locator('#a-left').innerText();
  const sandbox = page.locator('#a-pay a.pay-sandbox_providers');
  await sandbox.waitFor({ state: 'visible' });
  // The language switcher is a plain link: the step survives it.
  await page.click('.langs a[hreflang="uz-Cyrl"]');
  await page.locator('#step3').waitFor({ state: 'visible' });
  out.number_after_switch = (await page.locator('#a-number').innerText()).trim();
  out.heading_cyrillic = await page.locator('#step3-h').innerText();
  await checkPage(page, 'step 3');
  await shot(page, '06-step3-payment');

  // Printed from /find before paying (another tab of the same browser).
  await printStatus(context, out.number);

  step = 'sandbox';
  await page.bringToFront();
  await Promise.all([page.waitForURL('**/sandbox/pay/**'), page.locator('#a-pay a.pay-sandbox_providers').click()]);
  await shot(page, '08-sandbox');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  out.sandbox_result = await page.locator('body').innerText();
  await shot(page, '09-sandbox-paid');
  await page.close();
}

/** The operator, on another computer (another context), approves in /console. */
async function approveInConsole(number) {
  step = 'console sign-in';
  pinFrom(cfg.operator_pin_file);
  const context = await phoneContext(browser, cfg.agent);
  const page = await newPage(context, 'console');
  await page.goto(base + '/console?lang=en');
  const signed = await operatorSignIn(page, new RegExp('^' + cfg.operator_key));
  const c = { keys: signed.keys, who: signed.who };
  step = 'console queue';
  c.queue = await openFromQueue(page, number).then(async (queue) => {
    await page.locator('#doc-passport .doc-hash.ok').waitFor({ state: 'attached' });
    await page.locator('#doc-selfie .doc-hash.ok').waitFor({ state: 'attached' });
    return queue;
  });
  c.state_before = await page.locator('[data-d="state"]').innerText();
  c.pinfl_says = await page.locator('[data-d="pinfl_says"]').innerText();
  await checkPage(page, 'console detail');
  await shot(page, '10-console-detail');
  step = 'console approve';
  const approved = await approveOpen(page);
  c.approved = approved.decided;
  c.state_after = approved.state;
  c.decide_hidden = approved.decideHidden;
  await checkPage(page, 'console approved');
  await shot(page, '11-console-approved');
  out.console = c;
  await context.close();
}

/** 4. The applicant finds the approved application, confirms it with the key, downloads. */
async function confirm(context, number) {
  pinFrom(cfg.key_pin_file);
  step = 'step 4 find';
  const page = await newPage(context, 'confirm');
  await lookUp(page, 'ru', number, cfg.confirm_captcha, '12-step4-find');
  out.state = await page.locator('#s-state').innerText();
  out.pay_hidden_when_approved = await page.locator('#s-pay').isHidden();
  await page.locator('#confirm').waitFor({ state: 'visible' });
  await page.locator('#f-key option').first().waitFor({ state: 'attached' });
  out.keys = await page.locator('#f-key option').allInnerTexts();
  out.key_chosen = await page.locator('#f-key option:checked').innerText();
  await checkPage(page, 'step 4 status');
  await shot(page, '13-step4-status');
  step = 'step 4 confirm';
  await page.click('#confirm-btn');
  await page.locator('#certificate').waitFor({ state: 'visible', timeout: 120000 });
  await page.locator('#cert-subject').filter({ hasText: /\S/ }).waitFor();
  out.serial = await page.locator('#cert-serial').innerText();
  out.installed = await page.locator('#cert-installed').innerText();
  out.subject = await page.locator('#cert-subject').innerText();
  out.state_after = await page.locator('#s-state').innerText();
  await checkPage(page, 'step 4 certificate');
  await shot(page, '14-step4-certificate');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#cert-download')]);
  out.download = path.join(shots, 'downloaded-certificate.pem');
  await download.saveAs(out.download);
}

try {
  await moduleMissing();
  pinFrom(cfg.key_pin_file);
  // The applicant's browser: one context from step 1 to the download (it remembers the key).
  const applicant = await phoneContext(browser, cfg.agent, { acceptDownloads: true });
  await apply(applicant);
  await approveInConsole(out.number);
  await confirm(applicant, out.number);
  out.ok = true;
} catch (e) {
  out.ok = false;
  out.error = e.message;
  out.step = step;
  if (lastPage) await shot(lastPage, 'failure').catch(() => {});
} finally {
  out.page_errors = pageErrors;
  console.log(JSON.stringify(out));
  await browser.close();
}
