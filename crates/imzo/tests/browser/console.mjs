// Walks the operator console in headless Chromium at 375 px against a running `imzo up`
// and `imzo agent` whose DSKEYS folder holds the operator's .pfx (run by
// crates/imzo/tests/console_browser.rs):
//   node console.mjs BASE AGENT_WS SHOTS APPROVE_NUMBER REJECT_NUMBER REJECT_PINFL
// Signs in with the operator's key (challenge–response through the module), opens the
// first application from the queue (documents, PINFL, audit trail, SMS), approves it,
// finds the second by PINFL and rejects it with a listed reason, then switches to Russian
// (the tab's session survives). Saves a screenshot of every step in SHOTS and prints one
// JSON line: {"ok": true, ...} or {"ok": false, "error": "...", "step": "..."}.
import path from 'node:path';
import { approveOpen, checkPage as checkPageOf, launch, phoneContext } from './lib.mjs';

const [base, agentUrl, shots, approveNumber, rejectNumber, rejectPinfl] = process.argv.slice(2);
const browser = await launch();
let step = 'start';
const out = { ok: false, shots: [] };
const pageErrors = [];
let page = null;

async function shot(name) {
  const file = path.join(shots, name + '.png');
  await page.screenshot({ path: file, fullPage: true });
  out.shots.push(file);
}

/** No untranslated message key on the page, and it fits the 375 px screen. */
function checkPage(where) {
  return checkPageOf(page, where);
}

/** The trail's actions, in order. */
async function trail() {
  return page.locator('#trail li').evaluateAll((l) => l.map((li) => li.getAttribute('data-action')));
}

async function run() {
  const context = await phoneContext(browser, agentUrl);
  page = await context.newPage();
  page.setDefaultTimeout(60000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Nothing secret in any address the page asks for.
  const urls = [];
  page.on('request', (r) => urls.push(r.url()));

  step = 'login';
  await page.goto(base + '/console?lang=en');
  await page.locator('[data-module-ok]').waitFor({ state: 'visible' });
  await page.locator('#f-key option').first().waitFor({ state: 'attached' });
  out.keys = await page.locator('#f-key option').allInnerTexts();
  await checkPage('login');
  await shot('c01-login');
  // Keyboard only: the key list, Tab to "Sign in", Enter.
  await page.focus('#f-key');
  await page.keyboard.press('Tab');
  out.focused = await page.evaluate(() => document.activeElement.id);
  await page.keyboard.press('Enter');
  await page.locator('#session').waitFor({ state: 'visible', timeout: 120000 });
  out.who = await page.locator('#who').innerText();

  step = 'queue';
  const first = page.locator(`#queue-list button[data-number="${approveNumber}"]`);
  await first.waitFor({ state: 'visible' });
  out.queue = await page.locator('#queue-list button').allInnerTexts();
  await checkPage('queue');
  await shot('c02-queue');

  step = 'detail';
  await first.focus();
  await page.keyboard.press('Enter');
  await page.locator('#detail').waitFor({ state: 'visible' });
  await page.locator('#doc-selfie .doc-view img').waitFor({ state: 'visible' });
  await page.locator('#doc-passport .doc-view iframe').waitFor({ state: 'attached' });
  out.selfie_width = await page.locator('#doc-selfie .doc-view img').evaluate((img) => img.decode().then(() => img.naturalWidth));
  // The frame shows a blob the page fetched (signed), never a URL to fetch again; the
  // page checked each document's SHA-256 against the one recorded on upload.
  out.pdf_src = await page.locator('#doc-passport .doc-view iframe').getAttribute('src');
  await page.locator('#doc-passport .doc-hash.ok').waitFor({ state: 'attached' });
  await page.locator('#doc-selfie .doc-hash.ok').waitFor({ state: 'attached' });
  out.pdf_hash = await page.locator('#doc-passport .doc-hash').innerText();
  await page.locator('#trail li[data-action="application.paid"]').waitFor({ state: 'attached' });
  out.pinfl_says = await page.locator('[data-d="pinfl_says"]').innerText();
  out.birth_typed = await page.locator('[data-d="birth_typed"]').innerText();
  out.state = await page.locator('[data-d="state"]').innerText();
  out.trail_before = await trail();
  await checkPage('detail');
  await shot('c03-detail');

  step = 'approve';
  const approved = await approveOpen(page);
  out.approved = approved.decided;
  out.state_after_approve = approved.state;
  out.app_sms = await page.locator('#app-sms li').allInnerTexts();
  out.decide_hidden = approved.decideHidden;
  await checkPage('approved');
  await shot('c04-approved');

  step = 'search';
  await page.click('#back');
  await page.locator('#queue').waitFor({ state: 'visible' });
  // The queue is asked for again (signed): the approved application has left it.
  await page.locator(`#queue-list button[data-number="${approveNumber}"]`).waitFor({ state: 'detached' });
  await page.locator(`#queue-list button[data-number="${rejectNumber}"]`).waitFor({ state: 'visible' });
  out.queue_after = await page.locator('#queue-list button').allInnerTexts();
  await page.fill('#f-q', rejectPinfl);
  await page.keyboard.press('Enter');
  await page.locator('#results').waitFor({ state: 'visible' });
  await page.locator(`#results-list button[data-number="${rejectNumber}"]`).waitFor({ state: 'visible' });
  out.results = await page.locator('#results-list button').allInnerTexts();
  await checkPage('search');
  await shot('c05-search');

  step = 'reject';
  await page.click(`#results-list button[data-number="${rejectNumber}"]`);
  await page.locator('#detail-number').filter({ hasText: rejectNumber }).waitFor();
  await page.locator('#trail li[data-action="application.paid"]').waitFor({ state: 'attached' });
  // "Another reason" without words is refused in the page, next to the field.
  await page.selectOption('#f-code', 'other');
  await page.click('#reject-btn');
  await page.locator('#err-reason').waitFor({ state: 'visible' });
  out.reason_error = await page.locator('#err-reason').innerText();
  await page.selectOption('#f-code', 'documents_unreadable');
  await page.fill('#f-reason', 'The passport page is blurred.');
  await page.click('#reject-btn');
  await page.locator('#decided').waitFor({ state: 'visible', timeout: 120000 });
  out.rejected = await page.locator('#decided').innerText();
  out.rejection_shown = await page.locator('[data-d="rejection"]').innerText();
  await page.locator('#trail li[data-action="application.rejected"]').waitFor({ state: 'attached' });
  out.reject_sms = await page.locator('#app-sms li').allInnerTexts();
  await checkPage('rejected');
  await shot('c06-rejected');

  step = 'russian';
  await page.click('.langs a[hreflang="ru"]');
  await page.locator('#session').waitFor({ state: 'visible' });
  await page.locator('#queue-empty').waitFor({ state: 'visible' });
  out.queue_empty_ru = await page.locator('#queue-empty').innerText();
  await page.locator('#outbox-list li').first().waitFor({ state: 'attached' });
  out.outbox = await page.locator('#outbox-list li').count();
  await checkPage('russian');
  await shot('c07-russian-outbox');

  out.urls_with_secrets = urls.filter((u) => /cms|pkcs7|keyId|password|challenge_base64/i.test(new URL(u).search));
  out.ok = true;
}

try {
  await run();
} catch (e) {
  out.ok = false;
  out.error = e.message;
  out.step = step;
  if (page) await shot('c-failure').catch(() => {});
} finally {
  out.page_errors = pageErrors;
  console.log(JSON.stringify(out));
  await browser.close();
}
