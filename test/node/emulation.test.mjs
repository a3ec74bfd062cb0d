// Emulation across nodes: centrifuge-js 5.x holds its HTTP-streaming or SSE
// stream on node A while its commands go to node B's emulation endpoint,
// as behind a load balancer; B hands them to A through the Redis control
// plane. Needs the Redis on 127.0.0.1:6379 (scripts/test.sh starts it).

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';

import { encodings, newClient, nth, secret, startServer, subscribe, userToken, waitFor }
  from './harness.mjs';

const apiKey = 'herald-emulation-api-key';
const prefix = `herald-node-emulation-${randomBytes(6).toString('hex')}`;

const config = (name) => ({
  http_server: {},
  node: { name },
  client: { token: { hmac_secret_key: secret } },
  http_api: { key: apiKey },
  http_stream: { enabled: true },
  sse: { enabled: true },
  engine: { type: 'redis', redis: { address: ['redis://127.0.0.1:6379'], prefix } },
  channel: {
    namespaces: [{
      name: 'room',
      presence: true,
      allow_subscribe_for_client: true,
      allow_publish_for_subscriber: true,
      allow_presence_for_subscriber: true,
    }],
  },
});

let a;
let b;
const clients = [];

before(async () => {
  a = await startServer(config('node-a'));
  b = await startServer(config('node-b'));
  // Wait until each node knows the other, so that B can route to A.
  await waitFor(async () => {
    const res = await fetch(`${b.httpURL}/api/info`, {
      method: 'POST', headers: { 'X-API-Key': apiKey }, body: '{}',
    });
    const info = await res.json();
    return info.result?.nodes?.length === 2;
  }, () => 'node B never saw node A');
});

after(async () => {
  for (const c of clients) c.disconnect();
  await a?.stop();
  await b?.stop();
});

async function apiPublish(server, channel, data) {
  const res = await fetch(`${server.httpURL}/api/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-API-Key': apiKey },
    body: JSON.stringify({ channel, data }),
  });
  const body = await res.json();
  assert.equal(body.error, undefined, JSON.stringify(body));
}

for (const transport of ['http_stream', 'sse']) {
  describe(transport, () => {
    test('stream on node A, commands through node B', async () => {
      const json = encodings.find((e) => e.name === 'json');
      const c = newClient(a, json, userToken(`emu-${transport}`), {
        transport,
        emulationEndpoint: `${b.httpURL}/emulation`,
      });
      clients.push(c);
      c.connect();
      const ctx = await nth(c.events.connected, 1, 'connected');
      assert.equal(ctx.transport, transport);

      // The subscribe command crosses from B to A; its reply and the
      // publications come on A's stream.
      const ch = `room:emu-${transport}`;
      const sub = await subscribe(c, ch);
      await apiPublish(b, ch, { n: 1 });
      await sub.publish({ n: 2 });
      await nth(sub.events.publication, 2, 'publication');
      assert.deepEqual(sub.events.publication.map((p) => p.data.n), [1, 2]);

      const pres = await sub.presence();
      assert.equal(pres.clients[ctx.client]?.user, `emu-${transport}`);
    });
  });
}
