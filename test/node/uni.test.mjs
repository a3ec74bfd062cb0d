// The unidirectional transports without an SDK: a plain EventSource on
// uni_sse, curl on uni_http_stream and a bare WebSocket on uni_websocket.
// Each connects with a ConnectRequest, receives its connect push and the
// API's publications into the user's personal channel, keepalives, and
// the disconnect push when the API disconnects the user.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import { EventSource } from 'eventsource';
import WebSocket from 'ws';

import { secret, startServer, token, waitFor } from './harness.mjs';

const apiKey = 'herald-uni-api-key';

const config = {
  http_server: {},
  client: {
    token: { hmac_secret_key: secret },
    subscribe_to_user_personal_channel: { enabled: true },
    // Short, so that a keepalive arrives within the test.
    ping_interval: '2s',
    pong_timeout: '1s',
  },
  http_api: { key: apiKey },
  uni_sse: { enabled: true },
  uni_http_stream: { enabled: true },
  uni_websocket: { enabled: true },
};

let server;

before(async () => {
  server = await startServer(config);
});

after(async () => {
  await server?.stop();
});

async function api(method, params) {
  const res = await fetch(`${server.httpURL}/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
    body: JSON.stringify(params),
  });
  const body = await res.json();
  assert.equal(body.error, undefined, JSON.stringify(body));
  return body.result;
}

const userToken = (user) => token({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600 });

/**
 * Runs the common checks on a stream of pushes: pushes() returns what
 * arrived so far, parsed.
 */
async function checkStream(user, pushes, what) {
  await waitFor(() => pushes().length > 0, () => `no connect push on ${what}`);
  const [first] = pushes();
  assert.ok(first.connect, `first push ${JSON.stringify(first)}`);
  assert.ok(first.connect.client && first.connect.session, JSON.stringify(first));
  assert.equal(first.connect.ping, 2);
  assert.ok(first.connect.subs?.[`#${user}`], `no personal subscription: ${JSON.stringify(first)}`);

  await api('publish', { channel: `#${user}`, data: { n: 1 } });
  await waitFor(() => pushes().some((p) => p.pub),
    () => `no publication on ${what}: ${JSON.stringify(pushes())}`);
  const pub = pushes().find((p) => p.pub);
  assert.equal(pub.channel, `#${user}`);
  assert.deepEqual(pub.pub.data, { n: 1 });

  await waitFor(() => pushes().some((p) => Object.keys(p).length === 0),
    () => `no keepalive on ${what}`, 5000);

  await api('disconnect', { user, disconnect: { code: 4500, reason: 'bye' } });
  await waitFor(() => pushes().some((p) => p.disconnect),
    () => `no disconnect push on ${what}: ${JSON.stringify(pushes())}`);
  assert.deepEqual(pushes().find((p) => p.disconnect).disconnect,
    { code: 4500, reason: 'bye' });
}

describe('unidirectional transports', () => {
  test('uni_sse with a plain EventSource', async () => {
    const user = 'uni-sse';
    const req = encodeURIComponent(JSON.stringify({ token: userToken(user) }));
    const got = [];
    const es = new EventSource(`${server.httpURL}/connection/uni_sse?cf_connect=${req}`);
    es.onmessage = (ev) => got.push(JSON.parse(ev.data));
    try {
      await checkStream(user, () => got, 'uni_sse');
    } finally {
      es.close();
    }
  });

  test('uni_http_stream with curl', async () => {
    const user = 'uni-curl';
    const curl = spawn('curl', ['-sN', '-X', 'POST', '-H', 'Content-Type: application/json',
      '-d', JSON.stringify({ token: userToken(user) }),
      `${server.httpURL}/connection/uni_http_stream`]);
    let out = '';
    curl.stdout.on('data', (d) => { out += d; });
    const exited = new Promise((ok) => curl.on('exit', ok));
    const pushes = () => out.split('\n').filter((l) => l).map((l) => JSON.parse(l));
    try {
      await checkStream(user, pushes, 'uni_http_stream');
      // The server ends the response after the disconnect push.
      assert.equal(await exited, 0);
    } finally {
      curl.kill();
    }
  });

  test('uni_websocket with a bare WebSocket', async () => {
    const user = 'uni-ws';
    const got = [];
    const ws = new WebSocket(server.url.replace('/connection/websocket',
      '/connection/uni_websocket'));
    let closed;
    ws.on('message', (m) => got.push(JSON.parse(m.toString())));
    ws.on('close', (code, reason) => { closed = { code, reason: reason.toString() }; });
    await new Promise((ok, fail) => { ws.once('open', ok); ws.once('error', fail); });
    ws.send(JSON.stringify({ token: userToken(user) }));
    try {
      await checkStream(user, () => got, 'uni_websocket');
      await waitFor(() => closed, () => 'no close frame');
      assert.equal(closed.code, 4500);
      assert.equal(closed.reason, 'bye');
    } finally {
      ws.terminate();
    }
  });

  test('uni_http_stream refuses a malformed connect request', async () => {
    const res = await fetch(`${server.httpURL}/connection/uni_http_stream`, {
      method: 'POST', body: '{"token":',
    });
    assert.equal(res.status, 400);
  });

  test('uni_sse turns an invalid token into a disconnect push', async () => {
    const req = encodeURIComponent(JSON.stringify({ token: 'not-a-token' }));
    const res = await fetch(`${server.httpURL}/connection/uni_sse?cf_connect=${req}`);
    assert.equal(res.status, 200);
    const body = await res.text();
    const events = body.split('\n').filter((l) => l.startsWith('data: '))
      .map((l) => JSON.parse(l.slice(6)));
    assert.deepEqual(events, [{ disconnect: { code: 3500, reason: 'invalid token' } }]);
  });
});
