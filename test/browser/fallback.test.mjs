// centrifuge-js 5 in headless Chromium on a network that blocks WebSocket:
// the client falls back to HTTP-streaming, and with that blocked too to
// SSE, sending its commands through the emulation endpoint. The page comes
// from another origin than Herald, so the requests also prove CORS.

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

const secret = 'fallback-secret';
const apiKey = 'fallback-api-key';

/** An HS256 token for user, valid for an hour. */
function token(user) {
  const b64 = (v) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ sub: user,
    exp: Math.floor(Date.now() / 1000) + 3600 })}`;
  return `${body}.${createHmac('sha256', secret).update(body).digest('base64url')}`;
}

const page = (heraldURL, wsURL, tok) => `<!doctype html>
<html><head><meta charset="utf-8"><title>fallback</title>
<script src="/centrifuge.js"></script></head>
<body><ul id="log"></ul><div id="transport"></div>
<script>
const log = (t) => {
  const li = document.createElement('li');
  li.textContent = t;
  document.getElementById('log').appendChild(li);
};
const c = new Centrifuge([
  { transport: 'websocket', endpoint: '${wsURL}' },
  { transport: 'http_stream', endpoint: '${heraldURL}/connection/http_stream' },
  { transport: 'sse', endpoint: '${heraldURL}/connection/sse' },
], { token: '${tok}', emulationEndpoint: '${heraldURL}/emulation' });
c.on('connected', (ctx) => {
  document.getElementById('transport').textContent = ctx.transport;
});
const sub = c.newSubscription('chat:lobby');
sub.on('publication', (ctx) => log(JSON.stringify(ctx.data)));
sub.on('subscribed', () => {
  log('subscribed');
  sub.publish({ from: 'page' });
});
sub.subscribe();
c.connect();
</script></body></html>`;

let herald;
let httpPort;
let pageServer;
let pageOrigin;
let browser;
let dir;

before(async () => {
  httpPort = await freePort();
  const pagePort = await freePort();
  pageOrigin = `http://127.0.0.1:${pagePort}`;
  dir = mkdtempSync(join(tmpdir(), 'herald-fallback-'));
  const cfgPath = join(dir, 'config.json');
  writeFileSync(cfgPath, JSON.stringify({
    http_server: { port: httpPort },
    health: { enabled: true },
    client: { token: { hmac_secret_key: secret }, allowed_origins: [pageOrigin] },
    http_api: { key: apiKey },
    http_stream: { enabled: true },
    sse: { enabled: true },
    channel: { namespaces: [{ name: 'chat', allow_subscribe_for_client: true,
      allow_publish_for_subscriber: true }] },
  }));
  herald = new Proc('herald', heraldBin, ['-c', cfgPath]);
  await waitHttp(`http://127.0.0.1:${httpPort}/health`, (r) => r.status === 200,
    'Herald is not healthy', herald);

  const bundle = readFileSync(join(tutorialDir, 'node_modules/centrifuge/dist/centrifuge.js'));
  const tok = token('fallback-user');
  const heraldURL = `http://127.0.0.1:${httpPort}`;
  const wsURL = `ws://127.0.0.1:${httpPort}/connection/websocket`;
  pageServer = createServer((req, res) => {
    if (req.url === '/centrifuge.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      res.end(bundle);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(page(heraldURL, wsURL, tok));
  });
  await new Promise((ok) => pageServer.listen(pagePort, '127.0.0.1', ok));
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await new Promise((ok) => (pageServer ? pageServer.close(ok) : ok()));
  await herald?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function publish(data) {
  const res = await fetch(`http://127.0.0.1:${httpPort}/api/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
    body: JSON.stringify({ channel: 'chat:lobby', data }),
  });
  assert.equal(res.status, 200, await res.text());
}

/** Opens the page with blocked paths refused, and checks it works over want. */
async function runPage(blocked, want, shot) {
  const p = await browser.context.newPage();
  try {
    // A proxy that refuses WebSocket upgrades closes the socket at once.
    await p.routeWebSocket(/\/connection\/websocket/, (ws) => ws.close());
    for (const path of blocked) {
      await p.route(`**${path}*`, (route) => route.abort('connectionrefused'));
    }
    await p.goto(pageOrigin);
    const shown = await waitFor(async () => (await p.textContent('#transport')) || null,
      () => 'the page never connected');
    assert.equal(shown, want);
    await waitFor(async () => (await p.textContent('#log')).includes('subscribed'),
      () => `not subscribed: ${herald.lines.slice(-20).join('\n')}`);

    // The page's own publication went through /emulation; an API one
    // arrives on the stream.
    await publish({ from: 'api' });
    await waitFor(async () => {
      const text = await p.textContent('#log');
      return text.includes('{"from":"page"}') && text.includes('{"from":"api"}');
    }, async () => `log: ${await p.textContent('#log')}`);
    await p.screenshot({ path: outFile(shot) });
  } finally {
    await p.close();
  }
}

test('falls back to HTTP-streaming when WebSocket is blocked', async () => {
  await runPage([], 'http_stream', 'fallback-http-stream.png');
});

test('falls back to SSE when WebSocket and HTTP-streaming are blocked', async () => {
  await runPage(['/connection/http_stream'], 'sse', 'fallback-sse.png');
});
