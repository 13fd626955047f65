// The HQ dashboard in a real browser: Debian's Chromium driven by playwright-core against a real
// segue-hq over HTTPS on 127.0.0.1, seeded with a chain of stores and terminals. Every figure the
// page shows is checked against the JSON API; screenshots of each page go to
// $SEGUE_SCREENSHOT_DIR for people to look at.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const HQ = process.env.SEGUE_HQ_BINARY;
const SEED = process.env.SEGUE_HQ_SEED;
const SHOTS = process.env.SEGUE_SCREENSHOT_DIR;
const KIOSK = process.env.SEGUE_KIOSK_BINARY;
for (const [name, value] of Object.entries({ SEGUE_HQ_BINARY: HQ, SEGUE_HQ_SEED: SEED, SEGUE_SCREENSHOT_DIR: SHOTS, SEGUE_KIOSK_BINARY: KIOSK }))
  if (!value) throw new Error(name + ' is not set (run through ctest or run_browser_tests.sh)');

const OFFSET_MIN = 480;
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'segue-web-test-'));
let server, receiver, context, page, base, port, readToken, seed, cert;
const receiverHits = [];
const pageErrors = [];

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

/// GET on the API over HTTPS, trusting only the demo certificate.
function apiRaw(pathAndQuery, token) {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', servername: 'localhost', port, path: pathAndQuery, method: 'GET', ca: cert,
      headers: token ? { Authorization: 'Bearer ' + token } : {},
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function api(pathAndQuery) {
  const res = await apiRaw(pathAndQuery, readToken);
  assert.equal(res.status, 200, pathAndQuery + ': ' + res.body.toString());
  return JSON.parse(res.body.toString());
}

async function shot(name) {
  await page.waitForTimeout(250);   // let uPlot finish its first draw
  await page.screenshot({ path: path.join(SHOTS, name + '.png'), fullPage: true });
}

const pctFormat = (lang, v) => new Intl.NumberFormat(lang, { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(v);
const decFormat = (lang, v, d) => new Intl.NumberFormat(lang, { minimumFractionDigits: d, maximumFractionDigits: d }).format(v);
const dataValue = async (selector) => page.getAttribute(selector, 'data-value');
const asNumber = (s) => (s === '' || s === null ? null : Number(s));

before(async () => {
  fs.mkdirSync(SHOTS, { recursive: true });
  execFileSync(HQ, ['init-demo', '--dir', work, '--port', '18443'], { stdio: 'pipe' });
  readToken = fs.readFileSync(path.join(work, 'read-token.txt'), 'utf8').trim();
  cert = fs.readFileSync(path.join(work, 'cert.pem'));
  const db = 'sqlite:' + path.join(work, 'hq.sqlite');
  seed = JSON.parse(execFileSync(SEED, ['--db', db, '--utc-offset-min', String(OFFSET_MIN),
    '--contact-pub', path.join(work, 'contact.pub')], { encoding: 'utf8' }));

  // A webhook receiver on loopback, so the alert list shows delivered alerts.
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => { receiverHits.push(JSON.parse(body)); res.writeHead(200).end('ok'); });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  fs.writeFileSync(path.join(work, 'hq.toml'), [
    '[dashboard]', 'target_csat = 0.9', `utc_offset_min = ${OFFSET_MIN}`,
    '[alerts]', `webhook_url = "http://127.0.0.1:${receiver.address().port}/hook"`, 'evaluate_every_s = 1',
    '[alerts.silent_terminal]', 'hours = 24',
    '[alerts.low_satisfaction]', 'threshold = 0.85', 'min_responses = 3', '',
  ].join('\n'));

  const portFile = path.join(work, 'port');
  server = spawn(HQ, ['serve', '--listen', '127.0.0.1:0', '--port-file', portFile, '--db', db,
    '--tls-cert', path.join(work, 'cert.pem'), '--tls-key', path.join(work, 'key.pem'),
    '--config', path.join(work, 'hq.toml'), '--contact-key', path.join(work, 'contact.key')], { stdio: ['ignore', 'ignore', fs.openSync(path.join(work, 'serve.err'), 'w')] });
  for (let i = 0; i < 1000 && !fs.existsSync(portFile); ++i) await sleep(10);   // readiness, not a timeout test
  assert.ok(fs.existsSync(portFile), 'segue-hq did not start: ' + fs.readFileSync(path.join(work, 'serve.err'), 'utf8'));
  port = Number(fs.readFileSync(portFile, 'utf8').trim());
  base = `https://localhost:${port}`;

  // Chromium trusts exactly this server's key (its SPKI hash): no blanket certificate bypass.
  const spki = crypto.createHash('sha256')
    .update(new crypto.X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' })).digest('base64');
  context = await chromium.launchPersistentContext(path.join(work, 'chromium-profile'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    locale: 'zh-CN',
    viewport: { width: 1440, height: 1000 },
    acceptDownloads: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', `--ignore-certificate-errors-spki-list=${spki}`],
  });
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

after(async () => {
  if (context) await context.close();
  if (server) server.kill('SIGTERM');
  if (receiver) receiver.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('HQ dashboard', () => {
  test('a missing or wrong token gets the login page and 401, never data', async () => {
    for (const p of ['/api/v1/overview', '/api/v1/stores', '/api/v1/fleet', '/api/v1/alerts', '/api/v1/stores/sh-pudong/summary'])
      for (const token of [null, 'not-a-token', seed.devices[0].token]) {
        const res = await apiRaw(p, token);
        assert.equal(res.status, 401, `${p} with ${token}`);
        assert.equal(JSON.parse(res.body.toString()).error, 'unauthorized');
      }

    await page.goto(base + '/');
    await page.waitForSelector('#login-form');
    assert.equal(await page.getAttribute('html', 'lang'), 'zh-CN');   // the browser's language
    await shot('login-zh');
    // The token login for scripts' users sits behind a link under the email and password form.
    await page.click('#use-token');
    await page.waitForSelector('#token');
    await shot('login-token-zh');
    await page.fill('#token', 'wrong-token-0000');
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/stores')),
      page.click('#signin'),
    ]);
    assert.equal(refused.status(), 401);
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
    assert.equal(await page.textContent('#login-error'), '令牌无效,请检查后重试。');
    assert.equal(await page.locator('#stores-table, #kpi-csat, #fleet-table').count(), 0);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('segue.hq.token')), null);
    assert.ok(await page.isHidden('#topbar'));
    await shot('login-refused-zh');

    // A token that stops working mid-session (revoked, or edited) also ends at the login page.
    await page.evaluate(() => sessionStorage.setItem('segue.hq.token', 'stale-token'));
    await page.goto(base + '/#/fleet');
    await page.waitForSelector('#login-form');
    assert.equal(await page.locator('#fleet-table').count(), 0);
  });

  test('after logging in, the overview shows the API figures', async () => {
    await page.goto(base + '/');
    await page.click('#use-token');
    await page.fill('#token', readToken);
    await page.click('#signin');
    await page.waitForSelector('#stores-table tbody tr');
    const data = await api('/api/v1/overview?period=7d');
    assert.ok(data.total.responses > 500, 'seeded data reached the overview');
    assert.equal(asNumber(await dataValue('#kpi-csat')), data.total.csat);
    assert.equal(asNumber(await dataValue('#kpi-mean')), data.total.mean_stars);
    assert.equal(asNumber(await dataValue('#kpi-responses')), data.total.responses);
    assert.equal(asNumber(await dataValue('#kpi-below')), data.stores.filter((s) => s.below_target).length);
    assert.equal(await page.textContent('#kpi-csat'), pctFormat('zh-CN', data.total.csat));
    assert.equal((await page.textContent('#kpi-mean')).replace('★', ''), decFormat('zh-CN', data.total.mean_stars, 2));

    const rows = await page.$$eval('#stores-table tbody tr', (trs) => trs.map((tr) => ({
      store: tr.dataset.store,
      below: tr.classList.contains('is-below'),
      badge: tr.querySelector('.badge').dataset.flag,
      values: [...tr.querySelectorAll('td[data-value]')].map((td) => td.dataset.value),
    })));
    assert.equal(rows.length, data.stores.length);
    for (const s of data.stores) {
      const row = rows.find((r) => r.store === s.store);
      assert.ok(row, s.store);
      const c = s.current;
      const expected = [c.responses, c.mean_stars, c.csat, ...['satisfactory', 'efficient', 'genuine', 'understanding', 'effective'].map((k) => c.segue[k])];
      assert.deepEqual(row.values.map(asNumber), expected, s.store);
      assert.equal(row.below, s.below_target, s.store);
      // Below target is said in words, not only in red.
      assert.equal(row.badge, s.below_target ? 'below' : c.responses ? 'ontarget' : 'nodata', s.store);
    }
    assert.ok(rows.some((r) => r.below) && rows.some((r) => !r.below), 'the seed has stores on both sides of the target');
    assert.equal(await page.locator('#trend-chart canvas').count(), 1);
    await shot('overview-zh');

    // Another period: the figures follow the API for that period.
    const [reply] = await Promise.all([
      page.waitForResponse((r) => r.url().includes('/api/v1/overview?period=30d')),
      page.click('[data-period="30d"]'),
    ]);
    assert.equal(reply.status(), 200);
    await page.waitForSelector('[data-period="30d"][aria-pressed="true"]');
    await page.waitForSelector('#kpi-responses');
    const month = await api('/api/v1/overview?period=30d');
    assert.equal(asNumber(await dataValue('#kpi-responses')), month.total.responses);
    assert.equal(asNumber(await dataValue('#kpi-csat')), month.total.csat);
    assert.equal(month.days.length, 30);

    // And a custom range.
    const week = await api('/api/v1/overview?period=7d');
    await page.click('[data-period="custom"]');
    await page.fill('#from', week.previous.from);
    await page.fill('#to', week.previous.to);
    await Promise.all([
      page.waitForResponse((r) => r.url().includes(`from=${week.previous.from}&to=${week.previous.to}`)),
      page.click('#apply-range'),
    ]);
    await page.waitForSelector('#kpi-responses');
    assert.equal(asNumber(await dataValue('#kpi-responses')), week.previous_total.responses);
    await Promise.all([page.waitForResponse((r) => r.url().includes('period=7d')), page.click('[data-period="7d"]')]);
    await page.waitForSelector('[data-period="7d"][aria-pressed="true"]');
  });

  test('the store table sorts by each column it is clicked on', async () => {
    const column = async (key) => page.$$eval(`#stores-table tbody tr`, (trs, k) => trs.map((tr) => {
      const idx = [...tr.closest('table').querySelectorAll('th')].findIndex((th) => th.dataset.key === k);
      const td = tr.children[idx];
      return td.dataset.value !== undefined ? td.dataset.value : td.textContent;
    }), key);
    const nums = (vs) => vs.filter((v) => v !== '').map(Number);
    const isSorted = (vs, dir) => vs.every((v, i) => i === 0 || (dir > 0 ? vs[i - 1] <= v : vs[i - 1] >= v));

    // HQ sorts and pages the table: each click waits for the table HQ sent back.
    const sortBy = async (key, dir) => {
      await page.click(`th[data-key="${key}"] button`);
      await page.waitForSelector(`th[data-key="${key}"][aria-sort="${dir}"]`);
    };
    await sortBy('responses', 'ascending');
    assert.equal(await page.getAttribute('th[data-key="responses"]', 'aria-sort'), 'ascending');
    assert.ok(isSorted(nums(await column('responses')), 1));
    await sortBy('responses', 'descending');
    assert.equal(await page.getAttribute('th[data-key="responses"]', 'aria-sort'), 'descending');
    assert.ok(isSorted(nums(await column('responses')), -1));

    await sortBy('csat', 'ascending');
    const csat = await column('csat');
    assert.ok(isSorted(nums(csat), 1));
    assert.equal(csat[csat.length - 1], '', 'a store without responses sorts last');
    assert.equal(await page.getAttribute('th[data-key="responses"]', 'aria-sort'), null);

    await sortBy('store', 'ascending');
    const names = await column('store');
    assert.deepEqual(names, [...names].sort());
    await sortBy('csat', 'ascending');
    await shot('overview-sorted-zh');
  });

  test('a store page shows its trend, SEGUE means, hours, reasons and terminals', async () => {
    await page.click('#stores-table a[href="#/store/gz-tianhe"]');
    await page.waitForSelector('#segue-means .hbar');
    const data = await api('/api/v1/stores/gz-tianhe/summary?period=7d');
    assert.equal(await page.textContent('#page-title'), '门店 gz-tianhe');
    assert.equal(asNumber(await dataValue('#kpi-csat')), data.total.csat);
    assert.equal(asNumber(await dataValue('#kpi-responses')), data.total.responses);
    assert.equal(asNumber(await dataValue('#kpi-terminals')), data.terminals.devices);
    const segue = await page.$$eval('#segue-means .hbar', (els) => Object.fromEntries(els.map((e) => [e.dataset.key, e.querySelector('.v').dataset.value])));
    for (const [k, v] of Object.entries(data.total.segue)) assert.equal(asNumber(segue[k]), v, k);
    const reasons = await page.$$eval('#reasons .hbar', (els) => Object.fromEntries(els.map((e) => [e.dataset.key, Number(e.querySelector('.v').dataset.value)])));
    assert.deepEqual(reasons, data.total.tags);
    assert.ok(Object.keys(reasons).length >= 3);
    const terminals = await page.$$eval('#store-terminals tbody tr', (trs) => trs.map((tr) => tr.dataset.device));
    assert.deepEqual(terminals.sort(), data.devices.map((d) => d.id).sort());
    assert.equal(await page.locator('#store-trend canvas').count(), 1);
    assert.equal(await page.locator('#hours-chart canvas').count(), 1);
    assert.equal(data.total.by_hour.reduce((a, b) => a + b, 0), data.total.responses);
    // The silent terminal of this store is flagged on its page too.
    assert.equal(await page.textContent('#store-terminals tr[data-device="gz-tianhe-k2"] [data-flag="silent"]'), '失联');
    await shot('store-zh');
  });

  test('a resize redraws the charts at the new width and leaves the rest of the page alone', async () => {
    const chartWidthNow = () => page.$eval('#store-trend canvas', (c) => c.getBoundingClientRect().width);
    const wide = await chartWidthNow();
    const title = await page.$('#page-title');
    await page.setViewportSize({ width: 1000, height: 1000 });
    await page.waitForFunction((w) => document.querySelector('#store-trend canvas').getBoundingClientRect().width < w - 200, wide);
    assert.ok(await title.evaluate((e) => e.isConnected), 'the page was rebuilt, not resized');
    assert.equal(await page.locator('#store-trend canvas').count(), 1);
    await page.setViewportSize({ width: 1440, height: 1000 });
    await page.waitForFunction((w) => Math.abs(document.querySelector('#store-trend canvas').getBoundingClientRect().width - w) < 2, wide);
    assert.ok(await title.evaluate((e) => e.isConnected));
  });

  test('the fleet view flags silent and skewed terminals in words', async () => {
    await page.click('a[data-tab="fleet"]');
    await page.waitForSelector('#fleet-table tbody tr');
    const fleet = await api('/api/v1/fleet');
    const rows = await page.$$eval('#fleet-table tbody tr', (trs) => trs.map((tr) => ({
      id: tr.dataset.device,
      flags: [...tr.querySelectorAll('.badge')].map((b) => b.dataset.flag),
      offset: tr.querySelector('td[data-value]').dataset.value,
    })));
    assert.equal(rows.length, fleet.devices.length);
    for (const d of fleet.devices) {
      const row = rows.find((r) => r.id === d.id);
      const expected = [d.silent && 'silent', d.clock_skewed && 'skew'].filter(Boolean);
      assert.deepEqual(row.flags, expected.length ? expected : ['ok'], d.id);
      assert.equal(asNumber(row.offset), d.clock_offset_ms, d.id);
    }
    assert.deepEqual(fleet.devices.filter((d) => d.silent).map((d) => d.id), seed.silent);
    assert.deepEqual(fleet.devices.filter((d) => d.clock_skewed).map((d) => d.id), seed.skewed);
    assert.deepEqual(rows.slice(0, 2).map((r) => r.id).sort(), [...seed.silent, ...seed.skewed].sort(), 'flagged terminals come first');
    assert.equal(await page.textContent(`tr[data-device="${seed.silent[0]}"] [data-flag="silent"]`), '失联');
    assert.equal(await page.textContent(`tr[data-device="${seed.skewed[0]}"] [data-flag="skew"]`), '时钟偏差');
    assert.match(await page.textContent(`tr[data-device="${seed.skewed[0]}"] td[data-value]`), /^\+4 分钟 12 秒$/);
    await shot('fleet-zh');
  });

  test('the alert list shows each alert with its time and delivery state', async () => {
    // The periodic evaluation raises the silent terminal's alert; wait for its delivery.
    let list;
    for (let i = 0; i < 300; ++i) {
      list = await api('/api/v1/alerts');
      if (list.alerts.some((a) => a.rule === 'silent_terminal' && a.state === 'delivered')) break;
      await sleep(50);
    }
    const silent = list.alerts.find((a) => a.rule === 'silent_terminal');
    assert.ok(silent && silent.state === 'delivered', JSON.stringify(list));
    assert.equal(silent.device_id, seed.silent[0]);
    assert.ok(receiverHits.some((h) => h.key === silent.key));
    await page.click('a[data-tab="alerts"]');
    await page.waitForSelector('#alerts-table tbody tr');
    list = await api('/api/v1/alerts');
    const rows = await page.$$eval('#alerts-table tbody tr', (trs) => trs.map((tr) => [tr.dataset.alert, tr.dataset.state]));
    assert.deepEqual(rows, list.alerts.map((a) => [a.key, a.state]));
    assert.equal(await page.textContent(`tr[data-alert="${silent.key}"] [data-flag="delivered"]`), '已送达');
    await shot('alerts-zh');
  });

  test('the language switches to English and stays switched', async () => {
    await page.click('[data-lang="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal(await page.textContent('a[data-tab="alerts"]'), 'Alerts');
    await shot('alerts-en');
    await page.click('a[data-tab="overview"]');
    await page.waitForSelector('#stores-table tbody tr');
    const data = await api('/api/v1/overview?period=7d');
    assert.equal(await page.textContent('#page-title'), 'Overview');
    assert.equal(await page.textContent('#kpi-csat'), pctFormat('en', data.total.csat));
    assert.equal(await page.textContent('#stores-title'), 'Stores');
    assert.equal(await page.textContent('th[data-key="responses"]'), 'Responses');
    await shot('overview-en');
    await page.reload();
    await page.waitForSelector('#stores-table tbody tr');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    await page.click('#stores-table a[href="#/store/cd-jinjiang"]');
    await page.waitForSelector('#segue-means .hbar');
    assert.equal(await page.textContent('#page-title'), 'Store cd-jinjiang');
    assert.equal(await page.textContent('#segue-means .hbar[data-key="genuine"] span'), 'Genuine');
    await shot('store-en');
    await page.click('a[data-tab="fleet"]');
    await page.waitForSelector('#fleet-table tbody tr');
    assert.equal(await page.textContent(`tr[data-device="${seed.silent[0]}"] [data-flag="silent"]`), 'Silent');
    assert.equal(await page.textContent(`tr[data-device="${seed.skewed[0]}"] [data-flag="skew"]`), 'Clock skew');
    await shot('fleet-en');
  });

  test('Export CSV downloads exactly what the API exports for the current filter', async () => {
    await page.click('a[data-tab="overview"]');
    await page.waitForSelector('#stores-table tbody tr');
    const week = await api('/api/v1/overview?period=7d');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const file = fs.readFileSync(await download.path());
    const expected = await apiRaw(`/api/v1/responses.csv?from=${week.from}&to=${week.to}`, readToken);
    assert.equal(expected.status, 200);
    assert.ok(file.length > 10000);
    assert.ok(file.equals(expected.body), 'the download equals the API export byte for byte');
    assert.equal(download.suggestedFilename(), `segue-responses-${week.from}_${week.to}.csv`);
    // One line per counted or misuse response, plus the header.
    const lines = file.toString().trimEnd().split('\r\n');
    assert.ok(lines.length - 1 >= week.total.responses);

    // On a store page the export is that store's, for the period shown.
    await page.click('#stores-table a[href="#/store/sh-pudong"]');
    await page.waitForSelector('#segue-means .hbar');
    await Promise.all([page.waitForResponse((r) => r.url().includes('period=30d')), page.click('[data-period="30d"]')]);
    await page.waitForSelector('[data-period="30d"][aria-pressed="true"]');
    const month = await api('/api/v1/stores/sh-pudong/summary?period=30d');
    const [storeDownload] = await Promise.all([page.waitForEvent('download'), page.click('#export')]);
    const storeFile = fs.readFileSync(await storeDownload.path());
    const storeExpected = await apiRaw(`/api/v1/responses.csv?from=${month.from}&to=${month.to}&store=sh-pudong`, readToken);
    assert.ok(storeFile.equals(storeExpected.body));
    const storeLines = storeFile.toString().trimEnd().split('\r\n').slice(1);
    assert.ok(storeLines.length > 0 && storeLines.every((l) => l.includes(',sh-pudong,')));
  });

  test('the page ran without script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});

describe('HQ dashboard: people, roles and regions', () => {
  const PASSWORD = 'correct horse battery';
  const hq = (...args) => execFileSync(HQ, args, { encoding: 'utf8', input: PASSWORD + '\n' });

  before(() => {
    const db = 'sqlite:' + path.join(work, 'hq.sqlite');
    hq('region', 'add', '--db', db, '--id', 'east', '--name', '华东 East');
    hq('region', 'add', '--db', db, '--id', 'north', '--name', '华北 North');
    for (const [store, region] of [['sh-pudong', 'east'], ['hz-xihu', 'east'], ['bj-chaoyang', 'north']])
      hq('store', 'set', '--db', db, '--store', store, '--region', region);
    hq('user', 'add', '--db', db, '--email', 'boss@example.com', '--role', 'admin', '--password-stdin');
    hq('user', 'add', '--db', db, '--email', 'vic@example.com', '--role', 'viewer', '--password-stdin');
    hq('user', 'add', '--db', db, '--email', 'rita@example.com', '--role', 'region', '--region', 'east', '--password-stdin');
    hq('user', 'add', '--db', db, '--email', 'sam@example.com', '--role', 'store', '--store', 'gz-tianhe', '--password-stdin');
  });

  async function signOut() {
    if (await page.isVisible('#logout')) await page.click('#logout');
    await page.evaluate(() => { sessionStorage.clear(); localStorage.removeItem('segue.hq.login'); localStorage.removeItem('segue.hq.csrf'); });
    await page.goto(base + '/');
    await page.waitForSelector('#login-form[data-mode="password"]');
  }

  async function signIn(email) {
    await signOut();
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('#signin');
    await page.waitForSelector('#stores-table tbody tr');
    await page.waitForSelector('#regions-table tbody tr');
  }

  const shownStores = () => page.$$eval('#stores-table tbody tr', (trs) => trs.map((tr) => tr.dataset.store).sort());
  const shownRegions = () => page.$$eval('#regions-table tbody tr', (trs) => trs.map((tr) => tr.dataset.region));
  const adminTabs = () => page.locator('a[data-tab="users"], a[data-tab="places"], a[data-tab="tokens"], a[data-tab="audit"]').count();

  test('the login page asks for email and password, in both languages', async () => {
    await signOut();
    await page.click('#login-form [data-lang="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal(await page.textContent('label[for="email"]'), 'Email');
    await shot('login-en');
    await page.fill('#email', 'boss@example.com');
    await page.fill('#password', 'not the password');
    await page.click('#signin');
    await page.waitForFunction(() => document.getElementById('login-error').textContent.length > 0);
    assert.equal(await page.textContent('#login-error'), 'Wrong email or password.');
    assert.ok(await page.isHidden('#topbar'));
    await page.click('#login-form [data-lang="zh-CN"]');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    await shot('login-password-zh');
  });

  test('each role sees only what it may, and only an admin is offered the admin pages', async () => {
    await signIn('sam@example.com');
    assert.deepEqual(await shownStores(), ['gz-tianhe']);
    assert.equal(await adminTabs(), 0);
    assert.match(await page.textContent('#whoami'), /sam@example\.com/);
    assert.match(await page.textContent('#whoami'), /gz-tianhe/);

    await signIn('rita@example.com');
    assert.deepEqual(await shownStores(), ['hz-xihu', 'sh-pudong']);
    assert.deepEqual(await shownRegions(), ['east']);
    assert.equal(await adminTabs(), 0);

    const everyStore = (await api('/api/v1/stores')).stores.map((r) => r.id).sort();
    assert.ok(everyStore.length > seed.stores.length - 1);
    await signIn('vic@example.com');
    assert.deepEqual(await shownStores(), everyStore);
    assert.deepEqual(await shownRegions(), ['east', 'north', 'none']);
    assert.equal(await adminTabs(), 0);
    await page.goto(base + '/#/users');   // not offered, and not shown when typed in
    await page.waitForSelector('#stores-table tbody tr');
    assert.equal(await page.locator('#users-table').count(), 0);

    await signIn('boss@example.com');
    assert.equal(await adminTabs(), 4);
    await shot('regions-zh');
    // A region's row filters the store table to it.
    await page.click('#regions-table tr[data-region="north"] .region-link');
    // The overview reloads (a moment without a table): wait for the filtered table itself.
    await page.waitForFunction(() => {
      const rows = [...document.querySelectorAll('#stores-table tbody tr')];
      return rows.length > 0 && rows.every((tr) => tr.dataset.store === 'bj-chaoyang');
    });
    assert.deepEqual(await shownStores(), ['bj-chaoyang']);
    assert.equal(await page.getAttribute('#stores-range', 'data-total'), '1');
    await page.selectOption('#store-region', '*');
    await page.waitForFunction((n) => document.querySelectorAll('#stores-table tbody tr').length === n, everyStore.length);
  });

  test('an admin creates a region, moves a store and adds its manager, who then sees that one store', async () => {
    await signIn('boss@example.com');
    await page.click('a[data-tab="places"]');
    await page.waitForSelector('#admin-stores tbody tr');
    await page.fill('#region-id', 'west');
    await page.fill('#region-name', '西部 West');
    await page.click('#region-add');
    await page.waitForSelector('#admin-regions tr[data-region="west"]');
    await page.selectOption('#admin-stores tr[data-store="cd-jinjiang"] select[data-field="region"]', 'west');
    await page.click('#admin-stores tr[data-store="cd-jinjiang"] [data-action="save"]');
    await page.waitForFunction(() => document.querySelector('#admin-regions tr[data-region="west"] td.num')?.textContent === '1');
    assert.deepEqual((await api('/api/v1/stores?region=west')).stores.map((r) => r.id), ['cd-jinjiang']);
    await shot('admin-places-zh');

    await page.click('a[data-tab="users"]');
    await page.waitForSelector('#user-form');
    await page.fill('#user-email', 'chen@example.com');
    await page.selectOption('#user-role', 'store');
    await page.fill('#user-store', 'cd-jinjiang');
    await page.fill('#user-password', PASSWORD);
    await page.click('#user-add');
    await page.waitForSelector('#users-table tr[data-user="chen@example.com"]');
    await shot('admin-users-zh');
    await page.click('a[data-tab="audit"]');
    await page.waitForSelector('#audit-table tbody tr');
    const actions = await page.$$eval('#audit-table tbody tr', (trs) => trs.map((tr) => tr.dataset.action));
    for (const a of ['user_add', 'store_set', 'region_add', 'login', 'login_failed']) assert.ok(actions.includes(a), a);
    await shot('admin-audit-zh');

    await page.click('[data-lang="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal(await page.textContent('#page-title'), 'Audit log');
    await shot('admin-audit-en');
    await page.click('a[data-tab="users"]');
    await page.waitForSelector('#users-table tbody tr');
    await shot('admin-users-en');
    await page.click('a[data-tab="places"]');
    await page.waitForSelector('#admin-stores tbody tr');
    await shot('admin-places-en');
    await page.click('a[data-tab="overview"]');
    await page.waitForSelector('#regions-table tr[data-region="west"]');
    await shot('regions-en');

    await signIn('chen@example.com');
    assert.deepEqual(await shownStores(), ['cd-jinjiang']);
    assert.deepEqual(await shownRegions(), ['west']);
    assert.equal(await adminTabs(), 0);
    await page.click('[data-lang="zh-CN"]');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  });

  test('an admin lists, issues and revokes read tokens, and lets a disabled user in again', async () => {
    const db = 'sqlite:' + path.join(work, 'hq.sqlite');
    await signIn('boss@example.com');
    await page.click('a[data-tab="tokens"]');
    await page.waitForSelector('#tokens-table');
    const listed = () => page.$$eval('#tokens-table tbody tr', (trs) => trs.map((tr) => [Number(tr.dataset.token), tr.dataset.revoked]));
    const cli = JSON.parse(hq('token', 'list', '--db', db, '--json')).map((tk) => [tk.id, String(tk.revoked)]);
    assert.deepEqual(await listed(), cli);

    await page.fill('#token-store', 'cd-jinjiang');
    await page.click('#token-add');
    await page.waitForSelector('#token-value');
    const token = (await page.textContent('#token-value')).trim();
    await page.waitForFunction((n) => document.querySelectorAll('#tokens-table tbody tr').length === n, cli.length + 1);
    const id = Math.max(...(await listed()).map(([n]) => n));
    assert.match(await page.textContent(`#tokens-table tr[data-token="${id}"]`), /cd-jinjiang/);
    const scoped = JSON.parse((await apiRaw('/api/v1/stores', token)).body.toString());
    assert.deepEqual(scoped.stores.map((r) => r.id), ['cd-jinjiang']);
    await shot('admin-tokens-zh');

    page.once('dialog', (d) => d.accept());
    await page.click(`#tokens-table tr[data-token="${id}"] [data-action="revoke"]`);
    await page.waitForSelector(`#tokens-table tr[data-token="${id}"][data-revoked="true"]`);
    assert.equal((await apiRaw('/api/v1/stores', token)).status, 401);
    assert.equal(await page.locator(`#tokens-table tr[data-token="${id}"] [data-action="revoke"]`).count(), 0);
    await page.click('[data-lang="en"]');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    await page.waitForSelector('#tokens-table');
    await shot('admin-tokens-en');

    // Disable chen (added by the test before), then let them in again from the users page.
    await page.click('a[data-tab="users"]');
    await page.waitForSelector('#users-table tr[data-user="chen@example.com"]');
    await page.click('#users-table tr[data-user="chen@example.com"] [data-action="disable"]');
    await page.waitForSelector('#users-table tr[data-user="chen@example.com"][data-disabled="true"] [data-action="enable"]');
    await shot('admin-users-disabled-en');
    await page.click('#users-table tr[data-user="chen@example.com"] [data-action="enable"]');
    await page.waitForSelector('#users-table tr[data-user="chen@example.com"][data-disabled="false"]');
    const chen = JSON.parse(hq('user', 'list', '--db', db, '--json')).find((u) => u.email === 'chen@example.com');
    assert.equal(chen.disabled, false);
    await page.click('a[data-tab="audit"]');
    await page.waitForSelector('#audit-table tbody tr');
    const actions = await page.$$eval('#audit-table tbody tr', (trs) => trs.map((tr) => tr.dataset.action));
    for (const a of ['token_add', 'token_revoke', 'user_disable', 'user_enable']) assert.ok(actions.includes(a), a);
    await signIn('chen@example.com');
    assert.deepEqual(await shownStores(), ['cd-jinjiang']);
    await page.click('[data-lang="zh-CN"]');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  });

  test('the top bar holds every admin tab on one line at 1280 px and degrades without clipping at 1024 px', async () => {
    await signIn('boss@example.com');
    // Each tab's label is one line box, no language button or sign-out is cut, and the bar does
    // not overflow the window.
    const layout = () => page.evaluate(() => {
      const lines = [...document.querySelectorAll('#tabs a')].map((a) => {
        const r = document.createRange();
        r.selectNodeContents(a);
        const tops = new Set([...r.getClientRects()].map((c) => Math.round(c.top)));
        return [a.dataset.tab, tops.size];
      });
      const whole = (el) => el.scrollWidth <= el.clientWidth + 1 && el.getBoundingClientRect().right <= window.innerWidth;
      const tabs = document.getElementById('tabs');
      return {
        lines,
        buttons: [...document.querySelectorAll('#lang-switch button'), document.getElementById('logout')].map((b) => [b.textContent, whole(b)]),
        barFits: document.getElementById('topbar').scrollWidth <= window.innerWidth,
        tabsScroll: tabs.scrollWidth > tabs.clientWidth + 1,
        height: document.getElementById('topbar').getBoundingClientRect().height,
      };
    });
    for (const [lang, width] of [['en', 1280], ['zh-CN', 1280], ['en', 1024], ['zh-CN', 1024]]) {
      await page.setViewportSize({ width, height: 800 });
      if (await page.evaluate(() => document.documentElement.lang) !== lang) {
        await page.click(`[data-lang="${lang}"]`);
        await page.waitForFunction((l) => document.documentElement.lang === l, lang);
      }
      await page.waitForSelector('#stores-table tbody tr');
      const l = await layout();
      const where = lang + ' at ' + width + ' px: ' + JSON.stringify(l);
      assert.ok(l.lines.length >= 7, where);   // the admin's tabs (more when other pages join)
      for (const [tab, n] of l.lines) assert.equal(n, 1, tab + ' wraps, ' + where);
      for (const [text, ok] of l.buttons) assert.ok(ok, text + ' is cut, ' + where);
      assert.ok(l.barFits, where);
      assert.equal(l.height, 58, where);
      if (width === 1280) assert.equal(l.tabsScroll, false, 'every tab shows at 1280 px, ' + where);
      await page.screenshot({ path: path.join(SHOTS, `topbar-${lang}-${width}.png`), clip: { x: 0, y: 0, width, height: 58 } });
    }
    await page.setViewportSize({ width: 1440, height: 1000 });
    await page.click('[data-lang="zh-CN"]');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
  });

  test('the people pages ran without script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});


describe('HQ dashboard: callback cases and complaint analysis', () => {
  const PASSWORD = 'correct horse battery';
  const db = () => 'sqlite:' + path.join(work, 'hq.sqlite');
  const hq = (...args) => execFileSync(HQ, args, { encoding: 'utf8', input: PASSWORD + '\n' });
  let store, other;

  before(() => {
    // The store with the most callback requests gets a manager; another store's manager must not see them.
    const counts = {};
    for (const c of seed.callbacks) counts[c.store] = (counts[c.store] || 0) + 1;
    const ranked = Object.entries(counts).sort((a, b) => b[1] - a[1]);
    assert.ok(ranked.length >= 1, 'the seed made no callback requests');
    store = ranked[0][0];
    other = seed.stores.find((s) => s !== store);
    hq('user', 'add', '--db', db(), '--email', 'mgr@example.com', '--role', 'store', '--store', store, '--password-stdin');
    hq('user', 'add', '--db', db(), '--email', 'olga@example.com', '--role', 'store', '--store', other, '--password-stdin');
  });

  async function signIn(email) {
    if (await page.isVisible('#logout')) await page.click('#logout');
    await page.evaluate(() => { sessionStorage.clear(); localStorage.removeItem('segue.hq.login'); localStorage.removeItem('segue.hq.csrf'); });
    await page.goto(base + '/');
    await page.waitForSelector('#login-form[data-mode="password"]');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('#signin');
    await page.waitForSelector('#stores-table tbody tr');
  }

  async function setLang(lang) {
    await page.click(`#lang-switch [data-lang="${lang}"]`);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  }

  test('the overview shows the 24-hour figure against the 80% target, as the API computes it', async () => {
    await signIn('boss@example.com');
    await page.waitForSelector('#kpi-sla-value');
    const sum = await api('/api/v1/cases/summary?period=7d');
    assert.ok(sum.requests > 0);
    assert.equal(asNumber(await dataValue('#kpi-sla-value')), sum.share_within_sla);
    assert.match(await page.textContent('#kpi-sla'), /80/);
    await page.goto(base + '/#/store/' + store);
    await page.waitForSelector('#store-terminals tbody tr');
    await page.waitForSelector('#kpi-sla-value');
    const storeSum = await api('/api/v1/cases/summary?period=7d&store=' + store);
    assert.equal(asNumber(await dataValue('#kpi-sla-value')), storeSum.share_within_sla);
  });

  test('a store manager lists their open callbacks, opens a number behind a logged confirmation and records the call', async () => {
    await signIn('mgr@example.com');
    await page.click('a[data-tab="cases"]');
    await page.waitForSelector('#cases-table tbody tr, #cases-empty');
    const open = await api('/api/v1/cases?status=open&store=' + store);
    assert.ok(open.cases.length > 0, 'no open case at ' + store);
    assert.equal(await page.locator('#cases-table tbody tr').count(), open.cases.length);
    assert.ok(!(await page.textContent('#cases-table')).match(/139\d{8}/), 'a number in the list');
    await shot('cases-zh');

    const target = open.cases.find((c) => c.status === 'open') || open.cases[0];
    await page.click(`#cases-table tr[data-case="${target.id}"] .case-link`);
    await page.waitForSelector('#case-facts');
    await page.click('#case-show-number');
    await page.waitForSelector('#case-confirm');
    assert.match(await page.textContent('#case-confirm-text'), /mgr@example\.com/);
    assert.match(await page.textContent('#case-confirm-text'), /审计日志/);
    await shot('case-confirm-zh');
    await page.click('#case-confirm-yes');
    await page.waitForSelector('#case-phone');
    const expected = seed.callbacks.find((c) => c.response_id === target.response_id).phone;
    assert.equal(await page.textContent('#case-phone'), expected);
    const audit = JSON.parse(hq('audit', '--db', db(), '--json')).entries;
    assert.ok(audit.some((e) => e.action === 'case_contact_view' && e.actor === 'mgr@example.com' && e.subject === String(target.id)));

    if (target.status === 'open') {
      await page.selectOption('#case-next', 'contacted');
      await page.fill('#case-note', '已回电，顾客接受道歉');
      await page.click('#case-save');
      await page.waitForSelector('#case-history tbody tr');
      assert.equal((await api('/api/v1/cases/' + target.id)).status, 'contacted');
    }
    // Resolving asks for a root cause first.
    await page.selectOption('#case-next', 'resolved');
    await page.click('#case-save');
    await page.waitForFunction(() => document.getElementById('case-error').textContent.length > 0);
    await page.selectOption('#case-cause', 'wait_time');
    await page.fill('#case-note', '安排了快速通道');
    await page.click('#case-save');
    await page.waitForFunction(() => document.querySelectorAll('#case-history tbody tr').length >= 2);
    const after = await api('/api/v1/cases/' + target.id);
    assert.equal(after.status, 'resolved');
    assert.equal(after.root_cause, 'wait_time');
    await shot('case-zh');
    await setLang('en');
    assert.match(await page.textContent('#case-history'), /Resolved/);
    await shot('case-en');
    await page.click('a[data-tab="cases"]');
    await page.waitForSelector('#cases-table tbody tr, #cases-empty');
    await page.click('button[data-status="all"]');
    await page.waitForSelector('button[data-status="all"][aria-pressed="true"]');
    await page.waitForSelector('#cases-table tbody tr');
    await shot('cases-en');
    await setLang('zh-CN');
  });

  test("another store's manager gets no such case, and a read token sees cases but never a number", async () => {
    const anyCase = (await api('/api/v1/cases?status=all&store=' + store)).cases[0];
    await signIn('olga@example.com');
    await page.goto(base + '/#/case/' + anyCase.id);
    await page.waitForSelector('.error-box');
    assert.match(await page.textContent('.error-box'), /no case/);

    await signIn('mgr@example.com');   // sign the session out before using the token
    await page.click('#logout');
    await page.click('#use-token');
    await page.fill('#token', readToken);
    await page.click('#signin');
    await page.waitForSelector('#stores-table tbody tr');
    await page.goto(base + '/#/case/' + anyCase.id);
    await page.waitForSelector('#case-facts');
    assert.equal(await page.locator('#case-show-number').count(), 0);
    assert.ok(await page.isVisible('#case-token'));
    await page.click('#logout');
    await page.evaluate(() => localStorage.removeItem('segue.hq.login'));
  });

  test('the complaint page draws reasons as a Pareto chart with the previous period, and root causes of resolved cases', async () => {
    await signIn('boss@example.com');
    await page.click('a[data-tab="complaints"]');
    await page.waitForSelector('#reasons-table tbody tr');
    const data = await api('/api/v1/reasons?period=7d');
    const shown = await page.$$eval('#reasons-table tbody tr', (trs) => trs.map((tr) => tr.dataset.tag));
    assert.deepEqual(shown, data.reasons.map((r) => r.tag));
    for (let i = 1; i < data.reasons.length; ++i) assert.ok(data.reasons[i - 1].count >= data.reasons[i].count);
    assert.equal(await page.locator('#pareto-chart canvas').count(), 1);
    assert.ok(data.root_causes.length > 0, 'no resolved case in the period');
    assert.equal(await page.locator('#root-causes .hbar').count(), data.root_causes.length);
    await shot('complaints-zh');
    await page.selectOption('#complaints-region', 'east');
    await page.waitForSelector('#complaints-region option[value="east"]:checked', { state: 'attached' });
    await page.waitForSelector('#reasons-table tbody tr, #complaints-reasons .empty');
    const east = await api('/api/v1/reasons?period=7d&region=east');
    assert.equal(await page.locator('#reasons-table tbody tr').count(), east.reasons.length);
    await page.selectOption('#complaints-region', '');
    await page.waitForSelector('#complaints-region option[value=""]:checked', { state: 'attached' });
    await page.waitForSelector('#reasons-table tbody tr');
    await setLang('en');
    await page.waitForSelector('#reasons-table tbody tr');
    assert.equal(await page.textContent('#page-title'), 'Complaint analysis');
    await shot('complaints-en');
    await setLang('zh-CN');
  });

  test('the callback pages ran without script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});


describe('HQ dashboard: enrolment codes from the fleet page, and a store split by survey version', () => {
  const PASSWORD = 'correct horse battery';
  const STORE = 'sz-futian';   // a store of its own region, for the region manager
  const db = () => 'sqlite:' + path.join(work, 'hq.sqlite');
  const hq = (...args) => execFileSync(HQ, args, { encoding: 'utf8', input: PASSWORD + '\n' });
  let kioskToml;

  before(() => {
    hq('region', 'add', '--db', db(), '--id', 'south', '--name', '华南 South');
    hq('store', 'set', '--db', db(), '--store', STORE, '--name', '福田 Futian', '--region', 'south');
    hq('user', 'add', '--db', db(), '--email', 'ada@example.com', '--role', 'admin', '--password-stdin');
    hq('user', 'add', '--db', db(), '--email', 'rex@example.com', '--role', 'region', '--region', 'south', '--password-stdin');
    hq('user', 'add', '--db', db(), '--email', 'val@example.com', '--role', 'viewer', '--password-stdin');
    // A terminal's configuration pointing at this HQ, trusting only its certificate.
    kioskToml = path.join(work, 'kiosk-enrol.toml');
    fs.writeFileSync(kioskToml, `[sync]\nenabled = true\nserver_url = "${base}"\nca_file = "${path.join(work, 'cert.pem')}"\n`, { mode: 0o600 });
  });

  async function signIn(email) {
    if (await page.isVisible('#logout')) await page.click('#logout');
    await page.evaluate(() => { sessionStorage.clear(); localStorage.removeItem('segue.hq.login'); localStorage.removeItem('segue.hq.csrf'); });
    await page.goto(base + '/');
    await page.waitForSelector('#login-form[data-mode="password"]');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('#signin');
    await page.waitForFunction((e) => (document.getElementById('whoami')?.textContent || '').includes(e), email);
  }

  async function setLang(lang) {
    await page.click(`#lang-switch [data-lang="${lang}"]`);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  }

  async function openFleet() {
    await page.goto(base + '/#/fleet');
    await page.waitForSelector('#fleet-table');   // a region without terminals yet has no rows
  }

  /// Issues a code in the open dialog; returns {code, device, expires}.
  async function issue(store, name) {
    await page.fill('#enrol-store', store);
    await page.fill('#enrol-name', name);
    await page.click('#enrol-submit');
    await page.waitForSelector('#enrol-code');
    return {
      code: (await page.textContent('#enrol-code')).trim(),
      device: await page.getAttribute('#enrol-code', 'data-device'),
      expires: await page.getAttribute('#enrol-expires', 'data-value'),
    };
  }

  /// segue-kiosk enrol --code with a new data directory: its exit code and the stored identity.
  function kioskEnrol(code, dir) {
    const run = spawnSync(KIOSK, ['enrol', '--code', code, '--config', kioskToml, '--data-dir', dir], { encoding: 'utf8', timeout: 60000 });
    const idFile = path.join(dir, 'identity.json');
    return { status: run.status, stderr: run.stderr, identity: fs.existsSync(idFile) ? JSON.parse(fs.readFileSync(idFile, 'utf8')) : null };
  }

  test('a viewer is not offered the enrolment button', async () => {
    await signIn('val@example.com');
    await openFleet();
    assert.equal(await page.locator('#enrol-open').count(), 0);
  });

  test('an admin issues a code on the fleet page; the terminal enrols with it once', async () => {
    await signIn('ada@example.com');
    await setLang('zh-CN');
    await openFleet();
    await page.click('#enrol-open');
    await page.waitForSelector('#enrol-dialog[open] #enrol-form');
    await shot('enrol-dialog-zh');
    const before = Date.now();
    const issued = await issue('sh-pudong', '3号柜台');
    assert.match(issued.code, /^\d{4}-\d{4}-\d{4}$/);
    assert.equal(await page.textContent('#enrol-instruction'), '请在终端的登记界面输入此代码。');
    // Valid for the 72 hours the dialog offers by default.
    const hours = (Date.parse(issued.expires) - before) / 3600000;
    assert.ok(hours > 71.9 && hours < 72.1, 'expires in ' + hours + ' h');
    assert.match(await page.textContent('#enrol-expires'), /有效期至/);
    await shot('enrol-code-zh');

    // The real terminal trades it for its identity: once.
    const first = kioskEnrol(issued.code, path.join(work, 'kiosk-d1'));
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.identity.device_id, issued.device);
    assert.equal(first.identity.store_id, 'sh-pudong');
    assert.equal((fs.statSync(path.join(work, 'kiosk-d1', 'identity.json')).mode & 0o777), 0o600);
    const again = kioskEnrol(issued.code, path.join(work, 'kiosk-d2'));
    assert.equal(again.status, 4, again.stderr);
    assert.equal(again.identity, null);

    // Done: the new terminal is in the fleet list.
    await page.click('#enrol-done');
    await page.waitForSelector(`#fleet-table tr[data-device="${issued.device}"]`);
    assert.equal(await page.locator('#enrol-dialog').count(), 0);
    const audit = (await (async () => {
      const res = await page.evaluate(async () => (await fetch('/api/v1/audit')).json());
      return res.entries;
    })()).filter((e) => e.action === 'device_add' && e.subject === issued.device);
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor, 'ada@example.com');
  });

  test('a region manager issues codes for the stores of their region only (in English)', async () => {
    await signIn('rex@example.com');
    await setLang('en');
    await openFleet();
    await page.click('#enrol-open');
    await page.waitForSelector('#enrol-dialog[open] #enrol-form');
    // Their one store is filled in; another region's store is "not found".
    assert.equal(await page.inputValue('#enrol-store'), STORE);
    await page.fill('#enrol-store', 'sh-pudong');
    await page.fill('#enrol-name', 'Counter 1');
    await page.click('#enrol-submit');
    await page.waitForFunction(() => document.getElementById('enrol-error').textContent.length > 0);
    assert.equal(await page.locator('#enrol-code').count(), 0);
    const issued = await issue(STORE, 'Counter 1');
    assert.match(issued.code, /^\d{4}-\d{4}-\d{4}$/);
    assert.equal(await page.textContent('#enrol-instruction'), "Type this on the terminal's enrolment screen.");
    await shot('enrol-code-en');
    const enrolled = kioskEnrol(issued.code, path.join(work, 'kiosk-d3'));
    assert.equal(enrolled.status, 0, enrolled.stderr);
    assert.equal(enrolled.identity.store_id, STORE);
    assert.equal(kioskEnrol(issued.code, path.join(work, 'kiosk-d4')).status, 4);
    await page.click('#enrol-done');
    await page.waitForSelector(`#fleet-table tr[data-device="${issued.device}"]`);
  });

  test('the store page splits the period by survey version when it holds more than one', async () => {
    // Version 2 for the region manager's store, then that terminal's batch under versions 1 and 2.
    const v2 = path.join(work, 'survey-v2.json');
    fs.writeFileSync(v2, JSON.stringify({
      id: 'segue-default', version: 1, languages: ['zh-CN', 'en'], items: ['satisfactory', 'effective'], reasons_max_stars: 3,
      tags: [{ id: 'wait_time', labels: { 'zh-CN': '等待时间', en: 'Wait time' } }, { id: 'queue_too_long', labels: { 'zh-CN': '排队太久', en: 'Queue too long' } }],
      settings: { thank_you_s: 2, inactivity_timeout_s: 30, misuse_window_s: 5, target_csat: 0.9 },
    }));
    assert.equal(hq('survey', 'publish', '--db', db(), '--file', v2, '--store', STORE).trim(), '2');
    const identity = JSON.parse(fs.readFileSync(path.join(work, 'kiosk-d3', 'identity.json'), 'utf8'));
    const now = Date.now() - 3600000;
    const plan = [[1, 5, []], [1, 4, []], [1, 2, ['wait_time']], [2, 5, []], [2, 1, ['queue_too_long']], [2, 2, ['queue_too_long', 'wait_time']], [2, 3, ['wait_time']]];
    const records = plan.map(([version, stars, tags], i) => {
      const at = now + i * 1000;
      const local = new Date(at + OFFSET_MIN * 60000);
      return {
        callback_requested: false, complete: true, created_at: new Date(at).toISOString(), device_id: identity.device_id,
        duration_ms: 8000, id: uuidV7(at), language: 'en', local_date: local.toISOString().slice(0, 10), local_hour: local.getUTCHours(),
        misuse: false, segue: { satisfactory: stars, efficient: null, genuine: null, understanding: null, effective: version === 2 ? 4 : null },
        stars, store_id: STORE, survey_id: 'segue-default', survey_version: version, synthetic: false, tags, utc_offset_min: OFFSET_MIN,
      };
    });
    const batch = { app_version: '0.1.0', batch_id: uuidV7(now), device_id: identity.device_id, pending: 0, protocol: 1, responses: records,
      sent_at: new Date().toISOString() };
    const ack = await apiPost('/api/v1/batches', identity.token, batch);
    assert.equal(ack.status, 200, ack.body.toString());
    assert.equal(JSON.parse(ack.body.toString()).accepted.length, records.length, ack.body.toString());

    const split = (await api(`/api/v1/stores/${STORE}/summary?by=survey_version&period=7d`)).survey_versions;
    assert.deepEqual(split.map((v) => [v.version, v.responses]), [[1, 3], [2, 4]]);
    await page.goto(base + '/#/store/' + STORE);
    await page.waitForSelector('#version-table tbody tr');
    assert.deepEqual(await page.$$eval('#version-table tbody tr', (trs) => trs.map((tr) => tr.dataset.version)), ['1', '2']);
    for (const v of split) {
      const row = `#version-table tr[data-version="${v.version}"]`;
      assert.equal(Number(await dataValue(row + ' td[data-col="responses"]')), v.responses);
      assert.equal(asNumber(await dataValue(row + ' td[data-col="csat"]')), v.csat);
      assert.equal(asNumber(await dataValue(row + ' td[data-col="mean"]')), v.mean_stars);
      assert.equal(await page.textContent(row + ' td[data-col="csat"]'), pctFormat('en', v.csat));
    }
    assert.match(await page.textContent('#version-table tr[data-version="2"] td[data-col="tags"]'), /Queue too long 2|queue_too_long 2/);
    await shot('store-versions-en');
    await setLang('zh-CN');
    await page.waitForSelector('#version-table tbody tr');
    assert.equal(await page.textContent('#version-split h2'), '按问卷版本');
    await shot('store-versions-zh');
    // A store whose period answered one version has no split.
    await signIn('ada@example.com');
    await page.goto(base + '/#/store/sh-pudong');
    await page.waitForSelector('#segue-means');
    assert.equal(await page.locator('#version-split').count(), 0);
  });

  test('the enrolment pages ran without script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});

/// A UUIDv7 for `ms` (random tail), as terminals make them.
function uuidV7(ms) {
  const b = crypto.randomBytes(16);
  b.writeUIntBE(ms, 0, 6);
  b[6] = (b[6] & 0x0f) | 0x70;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/// POST of a JSON body over HTTPS with a bearer token.
function apiPost(pathAndQuery, token, body) {
  return new Promise((resolve, reject) => {
    const data = Buffer.from(JSON.stringify(body));
    const req = https.request({
      host: '127.0.0.1', servername: 'localhost', port, path: pathAndQuery, method: 'POST', ca: cert,
      headers: { Authorization: 'Bearer ' + token, 'Content-Type': 'application/json', 'Content-Length': data.length },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('HQ dashboard: surveys (administrators)', () => {
  const PASSWORD = 'correct horse battery';
  const db = () => 'sqlite:' + path.join(work, 'hq.sqlite');
  const hq = (...args) => execFileSync(HQ, args, { encoding: 'utf8', input: PASSWORD + '\n' });
  let store, device, other, next;   // `next`: the version this page's publish gets (the CLI may have published before)

  before(() => {
    hq('user', 'add', '--db', db(), '--email', 'sue@example.com', '--role', 'admin', '--password-stdin');
    hq('user', 'add', '--db', db(), '--email', 'vera@example.com', '--role', 'viewer', '--password-stdin');
    device = seed.devices[0];
    store = device.store;
    other = seed.devices.find((d) => d.store !== store);
  });

  async function signIn(email) {
    if (await page.isVisible('#logout')) await page.click('#logout');
    await page.evaluate(() => { sessionStorage.clear(); localStorage.removeItem('segue.hq.login'); localStorage.removeItem('segue.hq.csrf'); });
    await page.goto(base + '/');
    await page.waitForSelector('#login-form[data-mode="password"]');
    await page.fill('#email', email);
    await page.fill('#password', PASSWORD);
    await page.click('#signin');
    await page.waitForSelector('#stores-table tbody tr');
  }

  /// A full-page screenshot from the top (the top bar is sticky: scrolled, it would be drawn mid-page).
  async function shotTop(name) {
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot(name);
  }

  async function setLang(lang) {
    await page.click(`#lang-switch [data-lang="${lang}"]`);
    await page.waitForFunction((l) => document.documentElement.lang === l, lang);
  }

  /// The API as the signed-in page calls it (its session cookie).
  const pageApi = (p) => page.evaluate(async (u) => (await fetch(u)).json(), p);
  const terminalConfig = async (token) => {
    const res = await apiRaw('/api/v1/terminal/config', token);
    assert.equal(res.status, 200);
    return JSON.parse(res.body.toString());
  };
  const fitsWidth = () => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

  test('the dictionaries carry the same words in both languages', async () => {
    const [en, zh] = await Promise.all(['en', 'zh-CN'].map(async (l) => JSON.parse((await apiRaw('/static/i18n/' + l + '.json')).body.toString())));
    assert.deepEqual(Object.keys(en).sort(), Object.keys(zh).sort());
  });

  test('an admin edits v1 into a new version with a new tag, sees HQ refuse a missing label, previews both languages and publishes to one store', async () => {
    await signIn('sue@example.com');
    await page.click('a[data-tab="surveys"]');
    await page.waitForSelector('#surveys-table tr[data-survey="segue-default"][data-version="1"]');
    const list = await pageApi('/api/v1/surveys');
    const published = list.surveys[0].versions.length;
    next = Math.max(...list.surveys[0].versions.map((v) => v.version)) + 1;
    assert.equal(await page.locator('#survey-scopes tbody tr').count(), Math.min(100, list.scopes.length));
    assert.equal(await page.textContent(`#survey-scopes tr[data-scope="store:${store}"] [data-col="runs"]`), 'segue-default · v1');
    await shotTop('surveys-list-zh');

    await page.click('#surveys-table tr[data-version="1"] [data-action="edit"]');
    await page.waitForSelector('#survey-form');
    // The built-in tags arrive with the terminal's words as their labels, ready to publish.
    assert.equal(await page.inputValue('#edit-tags tr[data-tag="wait_time"] input[data-lang="en"]'), 'Waited too long');
    // Relabel one tag, drop one, add one with both labels; ask three items; a 2 s thank-you.
    await page.fill('#edit-tags tr[data-tag="wait_time"] input[data-lang="en"]', 'Waited too long at the counter');
    assert.ok(await page.isDisabled('#edit-add-tag'), 'six tags: no seventh');
    await page.click('#edit-tags tr[data-tag="price"] [data-action="remove-tag"]');
    await page.click('#edit-add-tag');
    const fresh = '#edit-tags tr[data-tag-index="5"]';
    await page.fill(fresh + ' input.tag-id', 'queue_too_long');
    await page.fill(fresh + ' input[data-lang="zh-CN"]', '排队太久');
    await page.uncheck('#edit-item-understanding');
    await page.uncheck('#edit-item-genuine');
    await page.click('#edit-items li[data-item="effective"] [data-action="up"]');
    await page.fill('#edit-thank_you_s', '2');

    // Published without its English label: HQ's refusal shows next to the form and marks the field.
    await page.selectOption('#publish-scope-kind', 'store');
    await page.fill('#publish-scope-store', store);
    await page.click('#survey-publish');
    await page.waitForSelector('#survey-error-field');
    assert.equal(await page.getAttribute('#survey-error-field', 'data-field'), 'definition.tags[5].labels.en');
    assert.match(await page.textContent('#survey-error'), /queue_too_long/);
    assert.ok(await page.evaluate((sel) => document.querySelector(sel + ' input[data-lang="en"]').classList.contains('invalid'), fresh));
    assert.equal((await pageApi('/api/v1/surveys')).surveys[0].versions.length, published, 'nothing was published');
    await setLang('en');
    await page.waitForSelector('#survey-form');
    await shotTop('survey-edit-refused-en');
    await setLang('zh-CN');
    await page.waitForSelector('#survey-form');
    assert.equal(await page.inputValue('#publish-scope-store'), store, 'the scope chosen survives a language switch');
    await page.fill(fresh + ' input[data-lang="en"]', 'Queue too long');

    // The preview in English and in Chinese: the star question, the items asked with their five
    // labels, the reasons screen's tags and the thank-you text.
    await page.click('#preview-lang-en');
    await page.waitForSelector('#survey-preview[data-lang="en"]');
    const preview = () => page.evaluate(() => ({
      question: document.querySelector('#survey-preview [data-screen="stars"] .kiosk-question').textContent,
      items: [...document.querySelectorAll('#survey-preview .kiosk-options')].map((o) => [o.dataset.item, [...o.querySelectorAll('.kiosk-label')].map((l) => l.textContent)]),
      tags: [...document.querySelectorAll('#survey-preview .kiosk-chip')].map((c) => c.textContent),
      thanks: document.querySelector('#survey-preview [data-screen="thanks"]').textContent,
    }));
    const en = await preview();
    assert.equal(en.question, 'How was our service today?');
    assert.deepEqual(en.items.map(([k]) => k), ['satisfactory', 'effective', 'efficient']);
    assert.deepEqual(en.items[0][1], ['Very dissatisfied', 'Dissatisfied', 'Neutral', 'Satisfied', 'Very satisfied']);
    assert.deepEqual(en.tags, ['Waited too long at the counter', 'Staff attitude', 'Problem not solved', 'Unclear explanation', 'Uncomfortable place', 'Queue too long']);
    assert.match(en.thanks, /Thank you!/);
    assert.match(en.thanks, /显示 2 秒/);   // the screen's caption is the dashboard's (Chinese here), its text the terminal's
    assert.match(en.thanks, /Your feedback helps us do better/);
    // The sticky top bar would be drawn over the card's head in an element screenshot.
    await page.evaluate(() => { document.getElementById('topbar').style.position = 'static'; });
    await page.locator('#preview-card').screenshot({ path: path.join(SHOTS, 'survey-preview-en.png') });
    await page.click('#preview-lang-zh-CN');
    await page.waitForSelector('#survey-preview[data-lang="zh-CN"]');
    const zh = await preview();
    assert.equal(zh.question, '您对本次服务满意吗？');
    assert.equal(zh.tags[5], '排队太久');
    assert.equal(zh.tags[0], '等待时间太长');   // the terminal's own word: the admin relabelled only English
    assert.deepEqual(zh.items.map(([k]) => k), ['satisfactory', 'effective', 'efficient']);
    assert.equal(zh.items[0][1].length, 5);
    await page.locator('#preview-card').screenshot({ path: path.join(SHOTS, 'survey-preview-zh.png') });
    await page.evaluate(() => { document.getElementById('topbar').style.position = ''; });
    await shotTop('survey-edit-zh');

    await page.click('#survey-publish');
    await page.waitForSelector('#survey-flash');
    assert.equal(await page.evaluate(() => location.hash), '#/surveys/segue-default/' + next);
    await page.waitForSelector(`#survey-assigned [data-scope="store:${store}"]`);
    const config = await terminalConfig(device.token);
    assert.equal(config.survey_version, next);
    assert.equal(config.assigned_by, 'store');
    assert.deepEqual(config.survey.items, ['satisfactory', 'effective', 'efficient']);
    assert.equal(config.survey.settings.thank_you_s, 2);
    assert.deepEqual(config.survey.tags[5], { id: 'queue_too_long', labels: { 'zh-CN': '排队太久', en: 'Queue too long' } });
    assert.equal(config.survey.tags[0].labels.en, 'Waited too long at the counter');
    assert.equal((await terminalConfig(other.token)).survey_version, 1, 'another store keeps v1');
    await shotTop('survey-version-zh');

    await page.click('a[data-tab="surveys"]');
    await page.waitForSelector(`#surveys-table tr[data-version="${next}"] [data-scope="store:${store}"]`);
    assert.equal(await page.getAttribute(`#surveys-table tr[data-version="${next}"] td.num`, 'data-value'), '1');
    assert.equal(await page.textContent(`#survey-scopes tr[data-scope="store:${store}"] [data-col="runs"]`), 'segue-default · v' + next);
    await setLang('en');
    await page.waitForSelector('#surveys-table');
    await shotTop('surveys-list-en');
  });

  test('an admin rolls the store back to v1 behind a confirm dialog; the terminal is sent v1 again and the audit log has both', async () => {
    await page.click('a[data-tab="surveys"]');
    await page.waitForSelector('#surveys-table tr[data-version="1"] [data-action="rollback"]');
    await page.click('#surveys-table tr[data-version="1"] [data-action="rollback"]');
    await page.waitForSelector('#survey-assign-dialog[open]');
    await page.selectOption('#assign-scope-kind', 'store');
    await page.fill('#assign-scope-store', store);
    await page.waitForFunction((v) => document.getElementById('assign-scope-now').textContent.includes('v' + v), next);
    await shotTop('survey-rollback-dialog-en');
    await page.click('#assign-confirm');
    await page.waitForSelector('#survey-flash');
    assert.match(await page.textContent('#survey-flash'), new RegExp('v1.*v' + next));
    await page.waitForSelector(`#surveys-table tr[data-version="1"] [data-scope="store:${store}"]`);
    assert.equal(await page.locator('#survey-assign-dialog').count(), 0);
    const config = await terminalConfig(device.token);
    assert.equal(config.survey_version, 1);
    assert.equal(config.assigned_by, 'store');
    assert.equal(await page.textContent(`#survey-scopes tr[data-scope="store:${store}"] [data-col="runs"]`), 'segue-default · v1');

    const audit = await pageApi('/api/v1/audit');
    const publish = audit.entries.find((e) => e.action === 'survey_publish');
    const assign = audit.entries.find((e) => e.action === 'survey_assign');
    assert.equal(publish.actor, 'sue@example.com');
    assert.equal(publish.subject, 'segue-default v' + next);
    assert.equal(assign.subject, 'segue-default v1');
    assert.equal(assign.details.previous, 'segue-default v' + next);
    assert.equal(assign.details.scope, 'store:' + store);
    await setLang('zh-CN');
    await page.waitForSelector('#surveys-table');
    await shotTop('surveys-list-rolled-back-zh');
  });

  test('the survey pages fit 1280 and 1024 px in both languages', async () => {
    for (const [lang, width] of [['en', 1280], ['zh-CN', 1280], ['en', 1024], ['zh-CN', 1024]]) {
      await page.setViewportSize({ width, height: 900 });
      if (await page.evaluate(() => document.documentElement.lang) !== lang) await setLang(lang);
      for (const hash of ['#/surveys', '#/surveys/segue-default/' + next, '#/surveys/segue-default/' + next + '/edit']) {
        await page.goto(base + '/' + hash);
        await page.waitForSelector(hash.endsWith('edit') ? '#survey-form' : hash.endsWith('/' + next) ? '#survey-facts' : '#surveys-table');
        assert.ok(await fitsWidth(), `${hash} overflows at ${width} px in ${lang}`);
      }
      await shotTop(`survey-edit-${lang}-${width}`);
      if (width === 1024) {
        // The tab strip scrolls sideways here: the current page's tab is scrolled into view.
        await page.goto(base + '/#/audit');
        await page.waitForSelector('#audit-table');
        const inView = await page.evaluate(() => {
          const a = document.querySelector('a[data-tab="audit"]').getBoundingClientRect();
          const b = document.getElementById('tabs').getBoundingClientRect();
          return a.left >= b.left - 1 && a.right <= b.right + 1;
        });
        assert.ok(inView, 'the audit tab is scrolled into view at 1024 px in ' + lang);
      }
    }
    await page.setViewportSize({ width: 1440, height: 1000 });
    await setLang('zh-CN');
  });

  test('a viewer is offered no survey tab and gets no survey page or API', async () => {
    await signIn('vera@example.com');
    assert.equal(await page.locator('a[data-tab="surveys"]').count(), 0);
    await page.goto(base + '/#/surveys');
    await page.waitForSelector('#stores-table tbody tr');
    assert.equal(await page.locator('#surveys-table').count(), 0);
    assert.equal(await page.evaluate(async () => (await fetch('/api/v1/surveys')).status), 403);
  });

  test('the survey pages ran without script errors', () => {
    assert.deepEqual(pageErrors, []);
  });
});
