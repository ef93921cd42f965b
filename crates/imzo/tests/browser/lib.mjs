// Pieces shared by the browser walks (portal.mjs, console.mjs): headless Chromium, the
// page checks every step makes, and the operator's sign-in and approval in /console.
import { chromium } from 'playwright-core';

/** Headless Chromium as the tests run it (Debian's /usr/bin/chromium unless CHROMIUM says). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
}

export function expect(cond, message) {
  if (!cond) throw new Error(message);
}

/** No untranslated message key on the page, and it fits the 375 px screen. */
export async function checkPage(page, where) {
  const text = await page.evaluate(() => document.body.innerText);
  expect(!text.includes('[['), `${where}: untranslated message key on the page: ${text.slice(text.indexOf('[['), text.indexOf('[[') + 60)}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow <= 0, `${where}: the page is ${overflow}px wider than the 375px screen`);
}

/**
 * A 375 px browser context whose pages talk to the module at `agentUrl` (the override
 * portal.js reads from localStorage). Every frame runs the init script, the console's
 * PDF blob frame too (no storage there).
 */
export async function phoneContext(browser, agentUrl, options = {}) {
  const context = await browser.newContext({ viewport: { width: 375, height: 812 }, ...options });
  await context.addInitScript((url) => { try { window.localStorage.setItem('imzoAgentUrl', url); } catch (e) { /* no storage */ } }, agentUrl);
  return context;
}

/**
 * Signs in to /console (`page` already there, in any language) with the key whose entry
 * in the list matches `keyMatch` (the first key if none is given): challenge–response
 * through the module. Returns the keys listed and who the console says signed in.
 */
export async function operatorSignIn(page, keyMatch) {
  await page.locator('[data-module-ok]').waitFor({ state: 'visible' });
  await page.locator('#f-key option').first().waitFor({ state: 'attached' });
  const keys = await page.locator('#f-key option').allInnerTexts();
  if (keyMatch) {
    const i = keys.findIndex((k) => keyMatch.test(k));
    expect(i >= 0, `no key matching ${keyMatch} among ${JSON.stringify(keys)}`);
    await page.selectOption('#f-key', String(i));
  }
  await page.click('#login-btn');
  await page.locator('#session').waitFor({ state: 'visible', timeout: 120000 });
  const who = await page.locator('#who').innerText();
  return { keys, who };
}

/** Opens application `number` from the queue; resolves once its trail shows the payment. */
export async function openFromQueue(page, number) {
  const item = page.locator(`#queue-list button[data-number="${number}"]`);
  await item.waitFor({ state: 'visible' });
  const queue = await page.locator('#queue-list button').allInnerTexts();
  await item.click();
  await page.locator('#detail').waitFor({ state: 'visible' });
  await page.locator('#detail-number').filter({ hasText: number }).waitFor();
  await page.locator('#trail li[data-action="application.paid"]').waitFor({ state: 'attached' });
  return queue;
}

/** Approves the open application; resolves once the trail records it. */
export async function approveOpen(page) {
  await page.click('#approve-btn');
  await page.locator('#decided').waitFor({ state: 'visible', timeout: 120000 });
  const decided = await page.locator('#decided').innerText();
  await page.locator('#trail li[data-action="application.approved"]').waitFor({ state: 'attached' });
  return {
    decided,
    state: await page.locator('[data-d="state"]').innerText(),
    decideHidden: await page.locator('#decide').isHidden(),
  };
}
