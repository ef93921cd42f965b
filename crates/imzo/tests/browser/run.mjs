// Opens a localhost page in headless Chromium and uses web/imzo-client.js against a
// running `imzo agent`. Usage: node run.mjs PAGE_URL AGENT_WS_URL sign|list
// Prints one JSON line: {"ok": true, ...} or {"ok": false, "error": "..."}.
import { chromium } from 'playwright-core';

const [pageUrl, agentUrl, mode] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  const result = await page.evaluate(async ([agentUrl, mode]) => {
    ImzoClient.url = agentUrl;
    try {
      const version = await ImzoClient.checkVersion();
      const keys = await ImzoClient.listAllKeys();
      if (mode === 'list') return { ok: true, version: version.number, keys };
      const keyId = await ImzoClient.loadKey(keys[0]);
      const text = 'Hujjat — signed in Chromium';
      const sig = await ImzoClient.signText(text, keyId);
      const check = await ImzoClient.verifyPkcs7Attached(sig.pkcs7_64);
      await ImzoClient.unloadKey(keyId);
      return { ok: true, version: version.number, keys, text, pkcs7_64: sig.pkcs7_64,
               serial: sig.signer_serial_number, module_says_valid: check.valid };
    } catch (e) {
      return { ok: false, error: e.message };
    }
  }, [agentUrl, mode]);
  console.log(JSON.stringify(result));
} finally {
  await browser.close();
}
