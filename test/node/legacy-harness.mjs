// Helpers for the protocol v1 tests: centrifuge-js 2.8.3 (the npm alias
// centrifuge2) in Node against a real Herald process. 2.8.3 is CommonJS and
// is loaded with createRequire. Every client gets a WebSocket class that
// records the frames in both directions, the close frames, the WebSocket
// ping frames from Herald and the sockets it opened; the class can also be
// blocked, so that reconnect attempts fail until the test unblocks it.

import { createRequire } from 'node:module';

import WebSocket from 'ws';

import { nth, waitFor } from './harness.mjs';

const require = createRequire(import.meta.url);

/** centrifuge-js 2.8.3, JSON build (the package's main file). */
export const Centrifuge2 = require('centrifuge2');

/** centrifuge-js 2.8.3, Protobuf build. */
export const Centrifuge2Protobuf = require('centrifuge2/dist/centrifuge.protobuf');

// protobufjs 6 hands uint64 fields to 2.8.3 as Long objects.
function num(v) {
  if (v !== null && typeof v === 'object' && typeof v.toNumber === 'function') {
    return v.toNumber();
  }
  return v;
}

/**
 * The v1 wire encodings under test. Protobuf clients carry payloads as
 * bytes and uint64 values as Long objects; each encoding says how to turn a
 * JSON value into a payload and back, and a wire number into a number.
 */
export const legacyEncodings = [
  {
    name: 'json',
    Client: Centrifuge2,
    options: {},
    encode: (v) => v,
    decode: (d) => d,
    num,
  },
  {
    name: 'protobuf',
    Client: Centrifuge2Protobuf,
    options: { protocol: 'protobuf' },
    encode: (v) => new TextEncoder().encode(JSON.stringify(v)),
    decode: (d) => JSON.parse(new TextDecoder().decode(d)),
    num,
  },
];

// A port nothing listens on: a blocked client's reconnect attempts go there.
const refusedURL = 'ws://127.0.0.1:1/connection/websocket';

/**
 * Returns a WebSocket class for 2.8.3's websocket option that records into
 * rec: frames ({dir: 'in'|'out', data}), closes ({code, reason}), pings
 * (count of WebSocket ping frames received) and sockets. While rec.blocked
 * is set, new sockets go to a refused port. rec.headers, when set, go with
 * every upgrade request, as a browser sends its cookies.
 */
export function recordingWebSocket(rec) {
  return class RecordingWebSocket extends WebSocket {
    constructor(url, protocols) {
      super(rec.blocked ? refusedURL : url, protocols,
        rec.headers ? { headers: rec.headers } : undefined);
      rec.sockets.push(this);
      this.on('message', (data, isBinary) => {
        rec.frames.push({ dir: 'in', data: isBinary ? Buffer.from(data) : data.toString() });
      });
      this.on('ping', () => { rec.pings += 1; });
      this.on('close', (code, reason) => {
        rec.closes.push({ code, reason: reason.toString() });
      });
    }

    send(data, ...rest) {
      rec.frames.push({
        dir: 'out',
        data: typeof data === 'string' ? data : Buffer.from(data),
      });
      super.send(data, ...rest);
    }
  };
}

/**
 * The JSON lines of the recorded text frames in direction dir ('in' or
 * 'out'), parsed, each with its raw text as .raw.
 */
export function jsonLines(rec, dir) {
  const out = [];
  for (const f of rec.frames) {
    if (f.dir !== dir || typeof f.data !== 'string') continue;
    for (const line of f.data.split('\n')) {
      if (line === '') continue;
      out.push({ raw: line, msg: JSON.parse(line) });
    }
  }
  return out;
}

/** A printable transcript of what a client sent and received. */
export function transcript(rec) {
  const lines = rec.frames.map((f) => {
    const data = typeof f.data === 'string' ? f.data : `(binary) ${f.data.toString('base64')}`;
    return `${f.dir === 'in' ? '<-' : '->'} ${data}`;
  });
  for (const c of rec.closes) lines.push(`close ${c.code} ${c.reason}`);
  return lines.join('\n');
}

/** Records the named events of an EventEmitter into lists. */
export function record(emitter, names) {
  const events = {};
  for (const name of names) {
    events[name] = [];
    emitter.on(name, (ctx) => events[name].push(ctx));
  }
  return events;
}

const clientEvents = [
  'connect', 'disconnect', 'subscribe', 'unsubscribe', 'publish', 'join', 'leave', 'message',
];
const subEvents = ['subscribe', 'error', 'unsubscribe', 'publish', 'join', 'leave'];

/**
 * Creates a 2.8.3 client for server (not connected yet) that records its
 * events in client.events and its frames in client.rec. Reconnects are
 * fast (50-500 ms) so that tests do not wait for the default backoff.
 * options go to the client, except wsHeaders: HTTP headers of the
 * WebSocket upgrade requests.
 */
export function newLegacyClient(server, enc, tokenValue, options = {}) {
  const { wsHeaders, ...clientOptions } = options;
  const rec = {
    frames: [], closes: [], sockets: [], pings: 0, blocked: false, headers: wsHeaders,
  };
  const client = new enc.Client(server.url, {
    websocket: recordingWebSocket(rec),
    minRetry: 50,
    maxRetry: 500,
    ...enc.options,
    ...clientOptions,
  });
  if (tokenValue !== undefined) client.setToken(tokenValue);
  client.rec = rec;
  client.legacy = true;
  client.events = record(client, clientEvents);
  return client;
}

/** Connects client and waits for its n-th connect event. */
export async function connected(client, n = 1) {
  if (n === 1) client.connect();
  const ctx = await nth(client.events.connect, n, 'connect');
  client.id = ctx.client;
  return ctx;
}

/**
 * Subscribes a 2.8.3 client to channel (client-side) and waits for the
 * subscribe event; fails with the subscription error otherwise.
 */
export async function legacySubscribe(client, channel) {
  const sub = client.subscribe(channel);
  sub.events = record(sub, subEvents);
  await waitFor(
    () => sub.events.subscribe.length > 0 || sub.events.error.length > 0,
    () => `subscribe ${channel} answered`,
  );
  if (sub.events.subscribe.length === 0) {
    throw new Error(`subscribe ${channel} failed: ${JSON.stringify(sub.events.error)}`);
  }
  return sub;
}

/**
 * Counts calls of a client method that 2.8.3 runs when a reply arrives but
 * reports with no event (refresh, sub_refresh and ping replies), and keeps
 * the arguments. Returns the list of recorded argument lists.
 */
export function spy(client, method) {
  const calls = [];
  const orig = client[method].bind(client);
  client[method] = (...args) => {
    calls.push(args);
    return orig(...args);
  };
  return calls;
}

/** Returns a promise that settles with {ok, value} or {ok:false, error}. */
export async function settle(promise, timeout, what) {
  let timer;
  const deadline = new Promise((_, rej) => {
    timer = setTimeout(() => rej(new Error(`${what} did not settle within ${timeout} ms`)), timeout);
  });
  try {
    return await Promise.race([
      promise.then((value) => ({ ok: true, value }), (error) => ({ ok: false, error })),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
