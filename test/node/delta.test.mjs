// Delta compression with centrifuge-js 5.x: subscriptions with
// delta: 'fossil' over JSON and Protobuf in a namespace where every
// publication is sent as a delta (delta_publish).

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  connectUser, encodings, nth, secret, startServer, subscribe,
} from './harness.mjs';

const config = {
  http_server: {},
  client: { token: { hmac_secret_key: secret } },
  channel: {
    namespaces: [
      {
        name: 'delta',
        allow_subscribe_for_client: true,
        allow_publish_for_subscriber: true,
        allowed_delta_types: ['fossil'],
        delta_publish: true,
      },
    ],
  },
};

let server;
let failed = false;
let clients = [];
const track = (c) => clients.push(c);

before(async () => {
  server = await startServer(config);
});

afterEach(() => {
  for (const c of clients) c.disconnect();
  clients = [];
});

after(async () => {
  if (!server) return;
  await server.stop();
  if (failed) {
    process.stderr.write(`herald config: ${JSON.stringify(server.config)}\n`);
    process.stderr.write(`herald output:\n${server.output()}\n`);
  }
});

function it(name, fn) {
  test(name, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      throw err;
    }
  });
}

const body = 'herald-delta-'.repeat(30);

for (const enc of encodings) {
  describe(enc.name, () => {
    it('applies fossil deltas to reproduce every publication', async () => {
      const ch = `delta:js-${enc.name}`;
      const alice = await connectUser(server, enc, 'alice', track);
      const bob = await connectUser(server, enc, 'bob', track);
      const sub = await subscribe(bob, ch, { delta: 'fossil' });
      const pubSub = await subscribe(alice, ch);

      const n = 5;
      for (let i = 0; i < n; i++) {
        await pubSub.publish(enc.encode({ body, seq: i }));
      }
      await nth(sub.events.publication, n, 'publication');
      sub.events.publication.forEach((ctx, i) => {
        assert.deepEqual(enc.decode(ctx.data), { body, seq: i }, `publication ${i}`);
      });
      const stats = sub.deltaStats();
      assert.equal(stats.numFullPayloads, 1, JSON.stringify(stats));
      assert.equal(stats.numDeltaPayloads, n - 1, JSON.stringify(stats));
    });
  });
}
