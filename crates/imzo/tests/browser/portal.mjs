// Walks the applicant portal in headless Chromium at 375 px against a running `imzo up`
// and `imzo agent` (run by crates/imzo/tests/portal_browser.rs). Two phases, because the
// operator's approval happens in between:
//   node portal.mjs apply   BASE AGENT_WS SHOTS FIXTURES
//   node portal.mjs confirm BASE AGENT_WS SHOTS CAPTCHA_ID CAPTCHA_ANSWER NUMBER
// Saves a screenshot of every step in SHOTS and prints one JSON line: {"ok": true, ...}
// or {"ok": false, "error": "...", "step": "..."}.
import { chromium } from 'playwright-core';
import path from 'node:path';

const [phase, base, agentUrl, shots, ...rest] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
let step = 'start';
const out = { ok: false, shots: [] };
const pageErrors = [];
let lastPage = null;

async function shot(page, name) {
  const file = path.join(shots, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  out.shots.push(file);
}

function expect(cond, message) {
  if (!cond) throw new Error(message);
}

/** Nothing on the page is a message key the page failed to translate, and it fits 375 px. */
async function checkPage(page, where) {
  const text = await page.evaluate(() => document.body.innerText);
  expect(!text.includes('[['), `${where}: untranslated message key on the page: ${text.slice(text.indexOf('[['), text.indexOf('[[') + 60)}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `${where}: the page is ${overflow}px wider than the 375px screen`);
}

async function newPage() {
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, acceptDownloads: true });
  await context.addInitScript((url) => { window.localStorage.setItem('imzoAgentUrl', url); }, agentUrl);
  const page = await context.newPage();
  page.setDefaultTimeout(60000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  lastPage = page;
  return page;
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

async function apply([fixtures]) {
  const page = await newPage();
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
  await Promise.all([page.waitForURL('**/sandbox/pay/**'), page.locator('#a-pay a.pay-sandbox_providers').click()]);
  await shot(page, '07-sandbox');
  await Promise.all([page.waitForNavigation(), page.click('button[type="submit"]')]);
  out.sandbox_result = await page.locator('body').innerText();
  await shot(page, '08-sandbox-paid');
  out.ok = true;
}

async function confirm([captchaId, captchaAnswer, number]) {
  const page = await newPage();
  // The captcha is made to stop robots: the test asks the server for a real one and
  // swaps in the id of a captcha whose answer it planted in the database.
  await page.route('**/api/v1/captcha', async (route) => {
    const response = await route.fetch();
    const body = await response.json();
    body.id = captchaId;
    await route.fulfill({ response, json: body });
  });
  step = 'step 4 find';
  await page.goto(base + '/find?lang=ru&number=' + number);
  await page.locator('#captcha-img[src^="data:image/png"]').waitFor();
  await page.fill('#f-answer', captchaAnswer);
  await checkPage(page, 'step 4 find');
  await shot(page, '09-step4-find');
  await page.click('#lookup-form button[type="submit"]');
  await page.locator('#status').waitFor({ state: 'visible' });
  out.state = await page.locator('#s-state').innerText();
  await page.locator('#confirm').waitFor({ state: 'visible' });
  await page.locator('#f-key option').first().waitFor({ state: 'attached' });
  out.keys = await page.locator('#f-key option').allInnerTexts();
  await checkPage(page, 'step 4 status');
  await shot(page, '10-step4-status');
  step = 'step 4 confirm';
  await page.click('#confirm-btn');
  await page.locator('#certificate').waitFor({ state: 'visible', timeout: 120000 });
  await page.locator('#cert-subject').filter({ hasText: /\S/ }).waitFor();
  out.serial = await page.locator('#cert-serial').innerText();
  out.installed = await page.locator('#cert-installed').innerText();
  out.subject = await page.locator('#cert-subject').innerText();
  out.state_after = await page.locator('#s-state').innerText();
  await checkPage(page, 'step 4 certificate');
  await shot(page, '11-step4-certificate');
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#cert-download')]);
  out.download = path.join(shots, 'downloaded-certificate.pem');
  await download.saveAs(out.download);
  out.ok = true;
}

try {
  if (phase === 'apply') await apply(rest);
  else if (phase === 'confirm') await confirm(rest);
  else throw new Error('phase must be apply or confirm');
} catch (e) {
  out.ok = false;
  out.error = e.message;
  out.step = step;
  if (lastPage) await shot(lastPage, 'failure-' + phase).catch(() => {});
} finally {
  out.page_errors = pageErrors;
  console.log(JSON.stringify(out));
  await browser.close();
}
