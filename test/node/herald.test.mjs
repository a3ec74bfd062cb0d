// Conformance tests: centrifuge-js 5.x in Node, over JSON and Protobuf, on
// WebSocket and on the HTTP-streaming and SSE transports with emulation,
// against a real Herald process.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  connectUser as connectWith, encodings, nth, secret, startServer, subscribe,
  transports, waitFor,
} from './harness.mjs';

const config = {
  http_server: {},
  http_stream: { enabled: true },
  sse: { enabled: true },
  client: {
    token: { hmac_secret_key: secret },
    subscribe_to_user_personal_channel: { enabled: true },
  },
  channel: {
    without_namespace: { allow_publish_for_client: true },
    namespaces: [
      {
        name: 'chat',
        allow_subscribe_for_client: true,
        allow_publish_for_subscriber: true,
      },
      {
        name: 'room',
        presence: true,
        allow_subscribe_for_client: true,
        allow_presence_for_subscriber: true,
      },
      {
        name: 'feed',
        history_size: 10,
        history_ttl: '300s',
        allow_subscribe_for_client: true,
        allow_publish_for_subscriber: true,
        allow_history_for_subscriber: true,
      },
      {
        name: 'news',
        history_size: 100,
        history_ttl: '300s',
        force_recovery: true,
        allow_subscribe_for_client: true,
        allow_publish_for_client: true,
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

// it is test() that remembers a failure, so that the server's output is
// printed once at the end.
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

const combos = transports.flatMap((tr) => tr.encodings.map((name) => ({
  transport: tr.name, enc: encodings.find((e) => e.name === name),
})));

for (const { transport, enc } of combos) {
  const connectUser = (srv, e, user, tr) => connectWith(srv, e, user, tr, { transport });
  // Channel and user names carry the transport and encoding, so that the
  // suites never share a channel's history or presence.
  const tag = `${transport}-${enc.name}`;
  describe(`${transport} ${enc.name}`, () => {
    it('connects with a token', async () => {
      const c = await connectUser(server, enc, 'alice', track);
      assert.ok(c.id, 'connected without a client id');
      assert.equal(c.state, 'connected');
      assert.equal((await nth(c.events.connected, 1, 'connected')).transport, transport);
    });

    it('delivers a publication from one client to another', async () => {
      const ch = `chat:room-${tag}`;
      const alice = await connectUser(server, enc, 'alice', track);
      const bob = await connectUser(server, enc, 'bob', track);
      const aliceSub = await subscribe(alice, ch);
      const bobSub = await subscribe(bob, ch);

      await aliceSub.publish(enc.encode({ text: 'hello bob' }));

      const ctx = await nth(bobSub.events.publication, 1, 'publication');
      assert.equal(ctx.channel, ch);
      assert.deepEqual(enc.decode(ctx.data), { text: 'hello bob' });
      assert.equal(ctx.info?.user, 'alice');
      assert.equal(ctx.info?.client, alice.id);
    });

    it('answers presence and presence stats', async () => {
      const ch = `room:lobby-${tag}`;
      const alice = await connectUser(server, enc, 'alice', track);
      const bob = await connectUser(server, enc, 'bob', track);
      const sub = await subscribe(alice, ch);
      await subscribe(bob, ch);

      let presence;
      await waitFor(async () => {
        presence = await sub.presence();
        return Object.keys(presence.clients).length === 2;
      }, () => `presence with 2 clients, got ${JSON.stringify(presence)}`);
      assert.equal(presence.clients[alice.id]?.user, 'alice');
      assert.equal(presence.clients[bob.id]?.user, 'bob');

      const stats = await sub.presenceStats();
      assert.deepEqual(
        { numClients: stats.numClients, numUsers: stats.numUsers },
        { numClients: 2, numUsers: 2 },
      );
    });

    it('answers history with limit, since and reverse', async () => {
      const ch = `feed:news-${tag}`;
      const alice = await connectUser(server, enc, 'alice', track);
      const sub = await subscribe(alice, ch);
      for (let n = 1; n <= 5; n++) {
        await sub.publish(enc.encode({ n }));
      }
      const ns = (res) => res.publications.map((p) => enc.decode(p.data).n);
      const offsets = (res) => res.publications.map((p) => p.offset);

      const top = await sub.history({ limit: 0 });
      assert.equal(top.offset, 5);
      assert.ok(top.epoch, 'history without an epoch');
      assert.equal(top.publications.length, 0);

      const first = await sub.history({ limit: 3 });
      assert.deepEqual(ns(first), [1, 2, 3]);
      assert.deepEqual(offsets(first), [1, 2, 3]);

      const last = await sub.history({ limit: 2, reverse: true });
      assert.deepEqual(ns(last), [5, 4]);

      const since = await sub.history({ limit: 10, since: { offset: 2, epoch: top.epoch } });
      assert.deepEqual(ns(since), [3, 4, 5]);
      assert.equal(since.epoch, top.epoch);
    });

    it('recovers missed publications after a reconnect', async () => {
      const ch = `news:wire-${tag}`;
      const reader = await connectUser(server, enc, 'alice', track);
      const writer = await connectUser(server, enc, 'bob', track);
      const sub = await subscribe(reader, ch);
      const publish = (n) => writer.publish(ch, enc.encode({ n }));
      const ns = () => sub.events.publication.map((p) => enc.decode(p.data).n);

      await publish(1);
      await nth(sub.events.publication, 1, 'publication');

      reader.disconnect();
      await nth(reader.events.disconnected, 1, 'disconnected');
      await publish(2);
      await publish(3);

      reader.connect();
      const ctx = await nth(sub.events.subscribed, 2, 'subscribed');
      assert.ok(ctx.wasRecovering && ctx.recovered, `resubscribe ${JSON.stringify(ctx)}`);
      await nth(sub.events.publication, 3, 'publication');

      // The live publication that follows must be the fourth event exactly:
      // nothing recovered is delivered twice.
      await publish(4);
      await nth(sub.events.publication, 4, 'publication');
      assert.deepEqual(ns(), [1, 2, 3, 4]);
      assert.deepEqual(sub.events.publication.map((p) => p.offset), [1, 2, 3, 4]);
    });

    it('delivers a personal channel publication through the client publication event', async () => {
      const user = `carol-${tag}`;
      const personal = `#${user}`;
      const carol = await connectUser(server, enc, user, track);
      await waitFor(
        () => carol.events.subscribed.some((s) => s.channel === personal),
        () => `server-side subscription to ${personal}, got ${JSON.stringify(carol.events.subscribed)}`,
      );
      const bob = await connectUser(server, enc, 'bob', track);

      await bob.publish(personal, enc.encode({ text: 'for carol' }));

      const ctx = await nth(carol.events.publication, 1, 'publication');
      assert.equal(ctx.channel, personal);
      assert.deepEqual(enc.decode(ctx.data), { text: 'for carol' });
    });
  });
}
