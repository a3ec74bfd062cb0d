// Harness for Herald's Node conformance tests: starts the Herald binary with
// a temporary config, makes connection tokens, creates centrifuge-js clients
// that record their events, and polls for conditions with deadlines.

import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { Centrifuge } from 'centrifuge';
import { Centrifuge as CentrifugeProtobuf } from 'centrifuge/build/protobuf';
import { EventSource } from 'eventsource';
import WebSocket from 'ws';

const here = dirname(fileURLToPath(import.meta.url));

/** Path of the Herald binary: $HERALD_BIN, or bin/herald at the repo root. */
export const heraldBin = process.env.HERALD_BIN
  ? resolve(process.env.HERALD_BIN)
  : resolve(here, '../../bin/herald');

/** HMAC key of every test config. */
export const secret = 'herald-node-secret';

/** Deadline for an expected event. Tests never wait for it when they pass. */
export const waitTimeout = 10_000;

const startTimeout = 20_000;
const stopTimeout = 15_000;

/**
 * The wire encodings under test. Protobuf clients carry payloads as bytes,
 * so each encoding says how to turn a JSON value into a payload and back.
 */
export const encodings = [
  {
    name: 'json',
    Client: Centrifuge,
    encode: (v) => v,
    decode: (d) => d,
  },
  {
    name: 'protobuf',
    Client: CentrifugeProtobuf,
    encode: (v) => new TextEncoder().encode(JSON.stringify(v)),
    decode: (d) => JSON.parse(new TextDecoder().decode(d)),
  },
];

/**
 * The transports under test: WebSocket, and the HTTP-streaming and SSE
 * transports that centrifuge-js falls back to, whose client-to-server
 * messages go through the emulation endpoint. SSE carries JSON only.
 */
export const transports = [
  { name: 'websocket', encodings: ['json', 'protobuf'] },
  { name: 'http_stream', encodings: ['json', 'protobuf'] },
  { name: 'sse', encodings: ['json'] },
];

/** Polls cond every 10 ms until it is truthy or timeout ms pass. */
export async function waitFor(cond, describe, timeout = waitTimeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeout} ms: ${describe()}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

function base64url(v) {
  return Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
}

/** Returns an HS256 JWT for claims. */
export function token(claims, key = secret) {
  const head = base64url({ alg: 'HS256', typ: 'JWT' });
  const body = base64url(claims);
  const sig = createHmac('sha256', key).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

/** Returns a connection token for user valid for an hour. */
export function userToken(user) {
  return token({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600 });
}

function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.unref();
    s.on('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/**
 * Starts Herald with config (Centrifugo keys; v6 sections are kept, the
 * port and /health are added) and waits until GET /health answers 200.
 */
export async function startServer(config) {
  // The free port may be taken by another process before Herald binds it.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServerOnce(config);
    } catch (err) {
      if (attempt === 3 || !/address already in use/.test(err.message)) throw err;
    }
  }
}

async function startServerOnce(config) {
  const port = await freePort();
  const cfg = structuredClone(config);
  if (cfg.http_server) {
    cfg.http_server.port = port;
    cfg.health ??= { enabled: true };
  } else {
    cfg.port = port;
    cfg.health ??= true;
  }
  const dir = mkdtempSync(join(tmpdir(), 'herald-node-'));
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(cfg, null, 2));

  const proc = spawn(heraldBin, ['-c', path], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout.on('data', (d) => { output += d; });
  proc.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((res) => {
    proc.on('exit', (code, signal) => res({ code, signal }));
    proc.on('error', (err) => res({ code: null, signal: null, err }));
  });
  let exit = null;
  exited.then((e) => { exit = e; });

  const server = {
    port,
    url: `ws://127.0.0.1:${port}/connection/websocket`,
    httpURL: `http://127.0.0.1:${port}`,
    output: () => output,
    config: cfg,
    async stop() {
      if (exit === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), stopTimeout);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };

  try {
    await waitFor(async () => {
      if (exit !== null) {
        throw new Error(`herald exited before it was healthy: ${JSON.stringify(exit)}`);
      }
      try {
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        return res.status === 200;
      } catch {
        return false;
      }
    }, () => 'GET /health answered 200', startTimeout);
  } catch (err) {
    await server.stop();
    err.message += `\nbinary: ${heraldBin}\nconfig: ${JSON.stringify(cfg)}\noutput:\n${output}`;
    throw err;
  }
  return server;
}

/**
 * Creates a centrifuge-js client for server that records its events in
 * client.events; it connects when connect() is called.
 */
export function newClient(server, enc, tokenValue, options = {}) {
  const { transport = 'websocket', ...rest } = options;
  let endpoint = server.url;
  if (transport !== 'websocket') {
    endpoint = [{ transport, endpoint: `${server.httpURL}/connection/${transport}` }];
  }
  const client = new enc.Client(endpoint, {
    token: tokenValue,
    websocket: WebSocket,
    eventsource: EventSource,
    emulationEndpoint: `${server.httpURL}/emulation`,
    minReconnectDelay: 50,
    maxReconnectDelay: 500,
    ...rest,
  });
  client.events = record(client, [
    'connecting', 'connected', 'disconnected', 'error',
    'subscribed', 'subscribing', 'unsubscribed', 'publication', 'join', 'leave',
  ]);
  return client;
}

/**
 * Creates a client for user, connects it and waits for 'connected';
 * options go to newClient (transport among them).
 */
export async function connectUser(server, enc, user, track, options = {}) {
  const client = newClient(server, enc, userToken(user), options);
  track(client);
  client.connect();
  const ctx = await nth(client.events.connected, 1, 'connected');
  client.id = ctx.client;
  return client;
}

/** Subscribes client to channel and waits for 'subscribed'. */
export async function subscribe(client, channel, options = {}) {
  const sub = client.newSubscription(channel, options);
  sub.events = record(sub, [
    'subscribing', 'subscribed', 'unsubscribed', 'publication', 'join', 'leave', 'error',
  ]);
  sub.subscribe();
  await waitFor(
    () => sub.events.subscribed.length > 0 || sub.events.unsubscribed.length > 0,
    () => `subscribe ${channel} answered; errors: ${JSON.stringify(sub.events.error)}`,
  );
  if (sub.events.subscribed.length === 0) {
    throw new Error(`subscribe ${channel} failed: ${JSON.stringify(sub.events.unsubscribed)}`);
  }
  return sub;
}

function record(emitter, names) {
  const events = {};
  for (const name of names) {
    events[name] = [];
    emitter.on(name, (ctx) => events[name].push(ctx));
  }
  return events;
}

/** Waits until list holds n items and returns the n-th. */
export async function nth(list, n, what) {
  await waitFor(() => list.length >= n, () => `${n} ${what} events, got ${JSON.stringify(list)}`);
  return list[n - 1];
}
