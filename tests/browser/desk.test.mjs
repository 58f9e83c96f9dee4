// The mail desk as a person uses it: Debian's headless Chromium, driven by playwright-core.
//
// Starts the exporter (XMAIL_EXPORTER_BIN, default target/debug/xmail_exporter) on a copy of
// the sample logs with examples/console's web config (users `desk` and `prometheus`), then:
// searches a message ID and reads its story, switches to Korean, checks that a hostile log
// line stays text, and that the page and the API refuse a client without credentials and
// the scrape user. Screenshots of the desk in English and Korean go to SCREENSHOT_DIR
// (default: a temporary directory; scripts/screenshots.sh points it at docs/).
//
// Run: node --test tests/browser/   (scripts/test.sh does, after installing what it needs)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = process.env.XMAIL_EXPORTER_BIN || path.join(root, 'target/debug/xmail_exporter');
const shots = process.env.SCREENSHOT_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'desk-shots-'));
const DESK = { username: 'desk', password: 'desk demo' };
const SCRAPER = { username: 'prometheus', password: 'scrape demo' };
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];

let exporter, base, browser, tmp, logsDir;

/// A refused recipient whose address and HELO carry markup, as a hostile client would send.
const hostile = ['mail.example.co.kr', 'example.co.kr', '203.0.113.66', '2026-11-28 10:00:00',
  '<img src=x onerror=alert(1)>', 'example.co.kr', 'spam@example.net',
  '<img src=x onerror=alert(2)>@example.co.kr', '', 'RCPT=EAVAIL', '', '0', 'x.example.net']
  .map((f) => `"${f}"`).join('\t') + '\n';

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'desk-'));
  const logs = path.join(tmp, 'xmail');
  fs.cpSync(path.join(root, 'examples/logs/xmail'), logs, { recursive: true });
  exporter = spawn(bin, [
    '--tail.from-beginning', '--web.listen-address', '127.0.0.1:0',
    '--xmail.log-dir', logs, '--webmail.log-dir', path.join(root, 'examples/logs/webmail'),
    '--xmail.spool-dir', '', '--web.enable-console',
    '--web.config.file', path.join(root, 'examples/console/web-config.yml'),
    '--config', path.join(root, 'examples/console/config.yml'),
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  base = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`exporter did not start:\n${log}`)), 30000);
    exporter.stderr.on('data', (d) => {
      log += d;
      const m = /message=listening address=(\S+)/.exec(log);
      if (m) { clearTimeout(timer); resolve(`http://${m[1]}`); }
    });
    exporter.on('exit', (code) => reject(new Error(`exporter exited (${code}):\n${log}`)));
  });
  logsDir = logs;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: FLAGS });
});

after(async () => {
  await browser?.close();
  exporter?.kill();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

async function page(options = {}) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 }, ...options });
  const p = await ctx.newPage();
  p.on('dialog', (d) => { throw new Error(`a script ran: ${d.message()}`); });
  return p;
}

test('search a message ID of the sample logs and read its story', async () => {
  const p = await page({ httpCredentials: DESK, locale: 'en-US' });
  const r = await p.goto(`${base}/`);
  assert.equal(r.status(), 200);
  assert.ok((await r.body()).length < 50 * 1024, 'the desk weighs under 50 KB');
  assert.equal(await p.getAttribute('html', 'lang'), 'en');
  await p.fill('input[name=q]', 'S293D9');
  await Promise.all([p.waitForURL(/\/trace\?/), p.click('button[type=submit]')]);
  const text = await p.textContent('#results');
  assert.match(text, /S293D9/);
  assert.match(text, /recipient accepted/);
  assert.match(text, /friend\.lee@gmail\.com/);
  // Every SMTP and SMAIL line of the message, each with its sentence.
  assert.ok((await p.locator('#results tr').count()) >= 3);
  await p.context().close();
});

test('the desk in Korean, from the browser and from the toggle', async () => {
  const ko = await page({ httpCredentials: DESK, locale: 'ko-KR' });
  await ko.goto(`${base}/`);
  assert.equal(await ko.getAttribute('html', 'lang'), 'ko');
  assert.match(await ko.textContent('h1'), /메일 데스크/);
  await ko.waitForSelector('#today');
  await ko.screenshot({ path: path.join(shots, 'desk-ko.png'), fullPage: true });
  await ko.context().close();

  const en = await page({ httpCredentials: DESK, locale: 'en-US' });
  await en.goto(`${base}/`);
  await en.screenshot({ path: path.join(shots, 'desk-en.png'), fullPage: true });
  await Promise.all([en.waitForURL(/lang=ko/), en.click('header a[hreflang=ko]')]);
  assert.equal(await en.getAttribute('html', 'lang'), 'ko');
  await en.goto(`${base}/trace?q=S293DF&since=2026-11-20&until=2026-11-30&lang=ko`);
  assert.match(await en.textContent('#results'), /S293DF/);
  await en.screenshot({ path: path.join(shots, 'trace-ko.png'), fullPage: true });
  await en.context().close();
});

test('a hostile log line is shown as text', async () => {
  // It arrives while the exporter runs, so it is a recent refusal too.
  fs.appendFileSync(path.join(logsDir, 'smtp-202611281000'), hostile);
  const p = await page({ httpCredentials: DESK, locale: 'en-US' });
  let shown = false;
  for (let i = 0; i < 50 && !shown; i++) {
    await p.goto(`${base}/`);
    shown = (await p.textContent('#refusals')).includes('203.0.113.66');
    if (!shown) await p.waitForTimeout(100);
  }
  assert.ok(shown, 'the hostile refusal is listed');
  assert.equal(await p.locator('img').count(), 0, 'no element was made from the log');
  assert.match(await p.textContent('#refusals'), /<img src=x onerror=alert\(2\)>@example\.co\.kr/);
  await p.goto(`${base}/trace?q=${encodeURIComponent('<img src=x onerror=alert(2)>@example.co.kr')}&since=2026-11-28&until=2026-11-28`);
  assert.equal(await p.locator('img').count(), 0);
  assert.match(await p.textContent('#results'), /<img src=x onerror=alert\(2\)>@example\.co\.kr/);
  await p.context().close();
});

test('no credentials, or the scrape user, get nothing', async () => {
  for (const [creds, status] of [[undefined, 401], [SCRAPER, 403], [DESK, 200]]) {
    const ctx = await browser.newContext(creds ? { httpCredentials: creds } : {});
    for (const url of ['/', '/trace?q=S293D9', '/api/v1/trace?q=S293D9', '/api/v1/summary']) {
      const r = await ctx.request.get(`${base}${url}`);
      assert.equal(r.status(), status, `${url} as ${creds?.username ?? 'nobody'}`);
      if (status !== 200) assert.doesNotMatch(await r.text(), /@|friend\.lee|S293D9/);
    }
    await ctx.close();
  }
});
