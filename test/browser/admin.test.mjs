// The admin web interface in headless Chromium: a wrong password is
// refused, the right one opens the status page, whose numbers follow
// centrifuge-js clients connecting from another tab; a publication sent
// from the actions page reaches those clients, and the page of their
// channel shows its presence and watches a publication arrive.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  Proc, freePort, heraldBin, launchBrowser, outFile, tutorialDir, waitFor, waitHttp,
} from './harness.mjs';

const password = 'admin-browser-password';
const tokenSecret = 'admin-browser-token-secret';
const apiKey = 'admin-browser-api-key';
const channel = 'chat:lobby';
const clients = 3;

/** An HS256 connection token for user, valid for an hour. */
function token(user) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: user,
    exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', tokenSecret).update(body).digest('base64url')}`;
}

/** A page with n centrifuge-js clients subscribed to channel. */
const clientsPage = (wsURL, n) => `<!doctype html>
<html><head><meta charset="utf-8"><title>clients</title>
<script src="/centrifuge.js"></script></head>
<body><div id="state"></div><ul id="log"></ul>
<script>
const tokens = ${JSON.stringify(Array.from({ length: n }, (_, i) => token(`user-${i}`)))};
let subscribed = 0;
for (const [i, tok] of tokens.entries()) {
  const c = new Centrifuge('${wsURL}', { token: tok });
  const sub = c.newSubscription('${channel}');
  sub.on('subscribed', () => {
    document.getElementById('state').textContent = 'subscribed ' + (++subscribed);
  });
  sub.on('publication', (ctx) => {
    const li = document.createElement('li');
    li.textContent = i + ' ' + JSON.stringify(ctx.data);
    document.getElementById('log').appendChild(li);
  });
  sub.subscribe();
  c.connect();
}
</script></body></html>`;

let herald;
let httpPort;
let adminURL;
let pageServer;
let pageOrigin;
let browser;
let admin;
let dir;
let clientsTab;
const problems = [];

before(async () => {
  httpPort = await freePort();
  const pagePort = await freePort();
  pageOrigin = `http://127.0.0.1:${pagePort}`;
  adminURL = `http://127.0.0.1:${httpPort}/`;
  dir = mkdtempSync(join(tmpdir(), 'herald-admin-'));
  const cfgPath = join(dir, 'config.json');
  writeFileSync(cfgPath, JSON.stringify({
    http_server: { port: httpPort },
    health: { enabled: true },
    admin: { enabled: true, password, secret: 'admin-browser-secret' },
    client: { token: { hmac_secret_key: tokenSecret }, allowed_origins: [pageOrigin] },
    http_api: { key: apiKey },
    channel: { namespaces: [{ name: 'chat', history_size: 50, history_ttl: '300s',
      presence: true, allow_subscribe_for_client: true }] },
  }));
  herald = new Proc('herald', heraldBin, ['-c', cfgPath]);
  await waitHttp(`http://127.0.0.1:${httpPort}/health`, (r) => r.status === 200,
    'Herald is not healthy', herald);

  const bundle = readFileSync(join(tutorialDir, 'node_modules/centrifuge/dist/centrifuge.js'));
  const wsURL = `ws://127.0.0.1:${httpPort}/connection/websocket`;
  pageServer = createServer((req, res) => {
    if (req.url === '/centrifuge.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(bundle);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(clientsPage(wsURL, clients));
  });
  await new Promise((ok) => pageServer.listen(pagePort, '127.0.0.1', ok));

  browser = await launchBrowser();
  admin = await browser.context.newPage();
  await admin.setViewportSize({ width: 1366, height: 900 });
  // A script error or a request that the page's security policy blocks
  // shows up here.
  admin.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  admin.on('console', (m) => {
    if (m.type() === 'error' && !/401 \(Unauthorized\)|400 \(Bad Request\)/.test(m.text())) {
      problems.push(`console: ${m.text()}`);
    }
  });
});

after(async () => {
  await browser?.close();
  await new Promise((ok) => (pageServer ? pageServer.close(ok) : ok()));
  await herald?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Fails with what the page and Herald said when cond does not come true. */
async function expect(page, cond, what) {
  try {
    return await waitFor(cond, () => what);
  } catch (err) {
    await page.screenshot({ path: outFile('admin-failure.png') }).catch(() => {});
    err.message += `\n${problems.join('\n')}\n${herald.tail(30)}`;
    throw err;
  }
}

const text = (page, sel) => page.locator(sel).first().textContent().catch(() => '');

/** The value of a status card. */
const cardValue = (key) => text(admin, `.card[data-key="${key}"] .card-value`);

test('a wrong password is refused', async () => {
  await admin.goto(adminURL);
  await admin.locator('#password').fill('not the password');
  const started = Date.now();
  await admin.locator('#login button[type=submit]').click();
  await expect(admin, async () => !(await admin.locator('#login-error').isHidden()),
    'no error shown for a wrong password');
  assert.match(await text(admin, '#login-error'), /Wrong password/);
  // The server holds a wrong password's answer for about a second.
  assert.ok(Date.now() - started >= 900, 'the refusal came without the delay');
  assert.equal(await admin.locator('#nodes').count(), 0);
  await admin.screenshot({ path: outFile('admin-login-refused.png') });
  assert.ok(herald.count(/admin login failed: wrong password/) >= 1, herald.tail(10));
  assert.equal(herald.count(/not the password/), 0, 'the password was logged');
});

test('the status page follows clients as they connect', async () => {
  await admin.locator('#password').fill(password);
  await admin.locator('#login button[type=submit]').click();
  await expect(admin, async () => (await admin.locator('#nodes tbody tr').count()) === 1,
    'the status page shows no node');
  assert.equal(await cardValue('clients'), '0');
  const row = await text(admin, '#nodes tbody tr');
  assert.match(row, /\d+s|\dm/, 'no uptime in the node row');

  const tab = await browser.context.newPage();
  await tab.goto(pageOrigin);
  await expect(tab, async () => (await text(tab, '#state')) === `subscribed ${clients}`,
    'the clients did not subscribe');
  // The page polls every 5 s; no reload is needed.
  await expect(admin, async () => (await cardValue('clients')) === String(clients),
    `connections card: ${await cardValue('clients')}`);
  assert.equal(await cardValue('subs'), String(clients));
  assert.equal(await cardValue('channels'), '1');
  const cells = await admin.locator('#nodes tbody td').allTextContents();
  // Connections, users, subscriptions, channels.
  assert.deepEqual(cells.slice(3, 7), [clients, clients, clients, 1].map(String));
  // Memory and CPU when the node reports them, n/a otherwise.
  const info = await (await fetch(`http://127.0.0.1:${httpPort}/api/info`, {
    method: 'POST', headers: { 'X-API-Key': apiKey }, body: '{}',
  })).json();
  const proc = info.result.nodes[0].process;
  assert.match(cells[7], proc ? /iB$/ : /^n\/a$/);
  assert.match(cells[8], proc ? /%$/ : /^n\/a$/);
  assert.match(await text(admin, '.chart .legend'), new RegExp(`connections ${clients}`));
  await admin.screenshot({ path: outFile('admin-status.png') });

  // The session survives a reload.
  await admin.reload();
  await expect(admin, async () => (await admin.locator('#nodes tbody tr').count()) === 1,
    'logged out by a reload');

  await admin.setViewportSize({ width: 390, height: 844 });
  await admin.screenshot({ path: outFile('admin-status-phone.png'), fullPage: true });
  const width = await admin.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 390, `the phone layout is ${width}px wide`);
  await admin.setViewportSize({ width: 1366, height: 900 });
  clientsTab = tab;
});

// The status page's message rates, from counters as info reports them:
// what was counted during the node's last metrics.interval, or, from a node
// that reports no interval, running totals.
test('message rates come from the counters of info', async () => {
  const got = await admin.evaluate(async () => {
    const { Rates, nodeCounters } = await import(new URL('js/metrics.js', location.href));
    const agg = new Rates();
    const live = new Rates();
    return {
      aggregated: [[0, 0], [600, 5000], [600, 10000], [120, 60000]]
        .map(([v, t]) => agg.update('k', v, t, 60)),
      live: [[0, 0], [50, 5000], [100, 10000], [100, 15000], [100, 20000], [10, 25000]]
        .map(([v, t]) => live.update('k', v, t, 0)),
      absent: live.update('other', null, 0, 0),
      counters: [
        nodeCounters({ metrics: { items: {
          'centrifugo.node.messages_sent_count.type.publication': 5,
          'centrifugo.transport.messages_sent.frame_type.push.transport.websocket': 9,
          'centrifugo.transport.messages_received.frame_type.publish.transport.websocket': 2,
          'centrifugo.transport.messages_received.frame_type.rpc.transport.sse': 3,
        } } }),
        nodeCounters({ metrics: { items: {
          'centrifugo.transport.messages_sent.frame_type.push.transport.websocket': 9,
          'centrifugo.transport.messages_sent.frame_type.reply.transport.websocket': 1,
        } } }),
        nodeCounters({ name: 'no metrics' }),
      ],
    };
  });
  assert.deepEqual(got.aggregated, [0, 10, 10, 2]);
  assert.deepEqual(got.live, [0, 10, 10, 10, 0, 0]);
  assert.equal(got.absent, null);
  assert.deepEqual(got.counters, [
    { sent: 5, received: 5, api: 0 },
    { sent: 10, received: 0, api: 0 },
    { sent: null, received: null, api: null },
  ]);
});

test('a publication from the actions page reaches the clients', async () => {
  const tab = clientsTab;
  await admin.goto(`${adminURL}#/actions/publish`);
  await admin.locator('#f-channel').fill(channel);
  await admin.locator('#f-data').fill('{"from": "actions page"}');
  assert.deepEqual(JSON.parse(await admin.locator('#params').inputValue()),
    { channel, data: { from: 'actions page' } });
  await admin.locator('#send').click();
  await expect(admin, async () => /"result"/.test(await text(admin, '#response')),
    'no answer to publish');
  assert.deepEqual(JSON.parse(await text(admin, '#request')),
    { method: 'publish', params: { channel, data: { from: 'actions page' } } });
  assert.match(await text(admin, '#response-meta'), /HTTP 200/);
  await expect(tab, async () =>
    (await tab.locator('#log li').allTextContents())
      .filter((t) => t.endsWith('{"from":"actions page"}')).length === clients,
  'the clients did not all receive the publication');
  await admin.screenshot({ path: outFile('admin-actions.png') });

  // The raw params are sent as they are, and an error answer is shown.
  await admin.goto(`${adminURL}#/actions/presence`);
  await admin.locator('#params').fill('{"channel": "nohist"}');
  await admin.locator('#send').click();
  await expect(admin, async () => /"code": 108/.test(await text(admin, '#response')),
    `presence of a channel without presence: ${await text(admin, '#response')}`);
});

test('a channel page shows presence and watches publications arrive', async () => {
  await admin.goto(`${adminURL}#/channels`);
  const link = admin.locator('#channels a', { hasText: channel });
  await expect(admin, async () => (await link.count()) === 1, 'the channel is not listed');
  assert.match(await text(admin, '#channels tbody tr'), new RegExp(`${clients}$`));
  await admin.locator('#channel-filter').fill('nothing-like-it');
  assert.equal(await link.count(), 0);
  await admin.locator('#channel-filter').fill('lob');
  await link.click();

  await expect(admin, async () => (await admin.locator('#presence tbody tr').count())
    === clients, 'presence does not list the clients');
  assert.match(await text(admin, '#presence'), /user-0/);
  // The publication of the actions page is in the history already.
  await expect(admin, async () => /actions page/.test(await text(admin, '#publications')),
    'history does not show the earlier publication');
  await expect(admin, async () => (await text(admin, '#watch')) === 'Pause',
    'watching did not start');

  const res = await fetch(`http://127.0.0.1:${httpPort}/api/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
    body: JSON.stringify({ channel, data: { from: 'backend', n: 42 } }),
  });
  assert.equal(res.status, 200, await res.text());
  await expect(admin, async () => /"n": 42/.test(await text(admin, '#publications li')),
    'the watched publication did not arrive');
  await admin.screenshot({ path: outFile('admin-channel.png') });

  // The page's own publish form goes through the admin API too.
  await admin.locator('#publish-data').fill('{"from": "channel page"}');
  await admin.locator('#publish').click();
  await expect(admin, async () => /channel page/.test(await text(admin, '#publications li')),
    'the channel page\'s publication did not arrive');

  await admin.goto(`${adminURL}#/channels/nohist`);
  await expect(admin, async () => /keeps no history/.test(await text(admin, '#history-note')),
    'a channel without history is not explained');
  assert.ok(await admin.locator('#watch').isDisabled());
});

test('logging out returns to the login page', async () => {
  await admin.goto(`${adminURL}#/status`);
  await admin.locator('#logout').click();
  await expect(admin, async () => (await admin.locator('#login').count()) === 1,
    'no login page after logging out');
  await admin.reload();
  await expect(admin, async () => (await admin.locator('#login').count()) === 1,
    'logged in again by a reload');
  assert.deepEqual(problems, []);
});

// With admin.insecure the page asks for no password, and under a prefix
// everything moves below it.
test('insecure mode under a prefix opens without a login', async () => {
  const port = await freePort();
  const cfgPath = join(dir, 'insecure.json');
  writeFileSync(cfgPath, JSON.stringify({
    http_server: { port },
    health: { enabled: true },
    admin: { enabled: true, insecure: true, handler_prefix: '/herald-admin' },
  }));
  const p = new Proc('herald-insecure', heraldBin, ['-c', cfgPath]);
  const page = await browser.context.newPage();
  try {
    await waitHttp(`http://127.0.0.1:${port}/health`, (r) => r.status === 200,
      'Herald is not healthy', p);
    const notThere = await fetch(`http://127.0.0.1:${port}/admin/settings`);
    assert.equal(notThere.status, 404, 'the admin endpoints ignore the prefix');

    await page.goto(`http://127.0.0.1:${port}/herald-admin`);
    await waitFor(async () => (await page.locator('#nodes tbody tr').count()) === 1,
      () => `no status page: ${p.tail(20)}`);
    assert.equal(await page.locator('#login').count(), 0);
    assert.equal(await page.locator('#logout').count(), 0);
    assert.match(await text(page, '.topbar'), /insecure/);
    assert.ok(p.count(/admin web interface is insecure/) === 1, p.tail(20));
  } finally {
    await page.close();
    await p.stop();
  }
});
