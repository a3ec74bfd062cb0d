// centrifuge-js 2.8.3 (protocol v1) through Herald's proxies to an
// application backend that this file runs: a connect proxy that
// authorises by session cookie, as the seed tutorial's backend does, and
// an rpc proxy. The config is a Centrifugo v3 flat file.

import assert from 'node:assert/strict';
import http from 'node:http';
import { after, afterEach, before, describe, test } from 'node:test';

import { nth, secret, startServer, waitFor, waitTimeout } from './harness.mjs';
import {
  connected, legacyEncodings, newLegacyClient, settle, transcript,
} from './legacy-harness.mjs';

const apiKey = 'herald-node-proxy-api-key';

/**
 * Starts the application backend on a free loopback port. It records every
 * request as {path, headers, body} and answers with routes[path](request),
 * an object sent as JSON.
 */
async function startBackend(routes) {
  const requests = [];
  const srv = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => { raw += d; });
    req.on('end', () => {
      const r = { path: req.url, headers: req.headers, body: JSON.parse(raw || 'null') };
      requests.push(r);
      const route = routes[req.url];
      if (!route) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(route(r)));
    });
  });
  await new Promise((res) => srv.listen(0, '127.0.0.1', res));
  return {
    url: `http://127.0.0.1:${srv.address().port}`,
    requests,
    close: () => new Promise((res) => {
      srv.closeAllConnections();
      srv.close(res);
    }),
  };
}

/** The user of a "sid=<user>" session cookie, undefined without one. */
function sessionUser(headers) {
  const m = /(?:^|;\s*)sid=([^;]+)/.exec(headers.cookie ?? '');
  return m?.[1];
}

const routes = {
  '/connect': (req) => {
    const user = sessionUser(req.headers);
    if (!user || user.startsWith('denied-')) {
      return { disconnect: { code: 1000, reason: 'unauthorized', reconnect: false } };
    }
    return { result: { user, channels: [`#${user}`] } };
  },
  '/rpc': (req) => {
    if (req.body.method === 'fail') {
      return { error: { code: 1003, message: 'bad call' } };
    }
    return { result: { data: { method: req.body.method ?? null, echo: req.body.data } } };
  },
};

/**
 * Fails unless cond stays true for the whole window of ms milliseconds,
 * checking every 25 ms: to see that something does not happen.
 */
async function consistently(cond, ms, describe) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    assert.ok(cond(), describe());
    await new Promise((res) => { setTimeout(res, 25); });
  }
  assert.ok(cond(), describe());
}

let backend;
let server;
let failed = false;
let clients = [];

before(async () => {
  backend = await startBackend(routes);
  server = await startServer({
    token_hmac_secret_key: secret,
    api_key: apiKey,
    proxy_connect_endpoint: `${backend.url}/connect`,
    proxy_rpc_endpoint: `${backend.url}/rpc`,
    proxy_http_headers: ['Cookie'],
    namespaces: [{ name: 'chat', publish: true }],
  });
});

afterEach(() => {
  for (const c of clients) c.disconnect();
  clients = [];
});

after(async () => {
  if (server) {
    await server.stop();
    if (failed) {
      process.stderr.write(`herald config: ${JSON.stringify(server.config)}\n`);
      process.stderr.write(`herald output:\n${server.output()}\n`);
    }
  }
  if (backend) await backend.close();
});

// it is test() that prints the frames of the test's clients and, at the
// end, the server's output when it fails.
function it(name, fn) {
  test(name, async () => {
    try {
      await fn();
    } catch (err) {
      failed = true;
      for (const c of clients) {
        const id = c.id ?? '(not connected)';
        process.stderr.write(`--- frames of 2.8.3 client ${id} in "${name}":\n`
          + `${transcript(c.rec)}\n`);
      }
      process.stderr.write(
        `--- backend requests:\n${JSON.stringify(backend.requests)}\n`);
      throw err;
    }
  });
}

let seq = 0;
const unique = (prefix) => `${prefix}-${++seq}`;

/** A 2.8.3 client without a token that sends cookie with its upgrade. */
function cookieClient(enc, cookie) {
  const c = newLegacyClient(server, enc, undefined, { wsHeaders: { Cookie: cookie } });
  clients.push(c);
  return c;
}

const requestsOf = (path, cookie) => backend.requests.filter(
  (r) => r.path === path && r.headers.cookie === cookie,
);

async function api(method, params) {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/${method}`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(params),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `POST /api/${method}: ${res.status} ${text}`);
  assert.equal(JSON.parse(text).error, undefined, text);
}

for (const enc of legacyEncodings) {
  const protocol = enc.name === 'json' ? 'json' : 'protobuf';
  describe(`centrifuge-js 2.8.3 ${enc.name} through proxies`, () => {
    it('is disconnected for good when the connect proxy says unauthorized', async () => {
      const cookie = `sid=${unique('denied')}`;
      const c = cookieClient(enc, cookie);
      c.connect();
      const ctx = await nth(c.events.disconnect, 1, 'disconnect');
      assert.deepEqual(ctx, { reason: 'unauthorized', reconnect: false });
      assert.equal(c.events.connect.length, 0);
      await waitFor(() => c.rec.closes.length === 1, () => 'close frame recorded');
      assert.equal(c.rec.closes[0].code, 1000);
      assert.deepEqual(JSON.parse(c.rec.closes[0].reason),
        { reason: 'unauthorized', reconnect: false });
      // Reconnects would come within 50-500 ms: over three times that,
      // the backend must see the one connect and no other.
      await consistently(
        () => requestsOf('/connect', cookie).length === 1 && c.rec.sockets.length === 1,
        1500,
        () => `${requestsOf('/connect', cookie).length} connect requests, `
          + `${c.rec.sockets.length} sockets; want one of each`,
      );
    });

    it('connects by session cookie and gets the personal channel', async () => {
      const user = unique(`alice-${enc.name}`);
      const cookie = `sid=${user}`;
      const c = cookieClient(enc, cookie);
      await connected(c);
      const [req] = requestsOf('/connect', cookie);
      assert.ok(req, 'the connect proxy was not called');
      assert.equal(req.body.transport, 'websocket');
      assert.equal(req.body.protocol, protocol);
      assert.equal(req.body.encoding, 'json');
      assert.equal(req.body.client, c.id);

      const personal = `#${user}`;
      await waitFor(() => c.events.subscribe.some((e) => e.channel === personal),
        () => `server-side subscribe to ${personal}, `
          + `got ${JSON.stringify(c.events.subscribe)}`);
      await api('publish', { channel: personal, data: { hello: user } });
      await waitFor(() => c.events.publish.some((e) => e.channel === personal),
        () => `publication in ${personal}`);
      const pub = c.events.publish.find((e) => e.channel === personal);
      assert.deepEqual(enc.decode(pub.data), { hello: user });
    });

    it('round-trips rpc through the rpc proxy', async () => {
      const user = unique(`bob-${enc.name}`);
      const cookie = `sid=${user}`;
      const c = cookieClient(enc, cookie);
      await connected(c);

      const named = await settle(c.namedRPC('sum', enc.encode({ a: 1, b: 2 })),
        waitTimeout, 'namedRPC');
      assert.equal(named.ok, true, `namedRPC failed: ${JSON.stringify(named.error)}`);
      assert.deepEqual(enc.decode(named.value.data),
        { method: 'sum', echo: { a: 1, b: 2 } });
      const unnamed = await settle(c.rpc(enc.encode({ q: 1 })), waitTimeout, 'rpc');
      assert.equal(unnamed.ok, true, `rpc failed: ${JSON.stringify(unnamed.error)}`);
      assert.deepEqual(enc.decode(unnamed.value.data), { method: null, echo: { q: 1 } });

      const reqs = requestsOf('/rpc', cookie);
      assert.equal(reqs.length, 2);
      assert.equal(reqs[0].body.user, user);
      assert.equal(reqs[0].body.client, c.id);
      assert.equal(reqs[0].body.method, 'sum');
      assert.equal('method' in reqs[1].body, false, JSON.stringify(reqs[1].body));
    });

    it('gets the rpc proxy error as the rpc error', async () => {
      const c = cookieClient(enc, `sid=${unique(`carol-${enc.name}`)}`);
      await connected(c);
      const r = await settle(c.namedRPC('fail', enc.encode({})), waitTimeout, 'namedRPC');
      assert.equal(r.ok, false, `namedRPC resolved: ${JSON.stringify(r.value)}`);
      assert.equal(r.error.code, 1003, JSON.stringify(r.error));
      assert.equal(r.error.message, 'bad call');
      assert.equal(c.isConnected(), true);
      assert.equal(c.events.disconnect.length, 0);
    });
  });
}
