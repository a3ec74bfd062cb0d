// Conformance tests for the legacy client protocol v1: centrifuge-js 2.8.3
// in Node, over JSON and Protobuf, against a real Herald process that also
// serves centrifuge-js 5.x on the same endpoint. The config is a Centrifugo
// v3 style flat file (v3-only channel options such as "publish": true), as
// 2.8.3 deployments have.

import assert from 'node:assert/strict';
import { after, afterEach, before, describe, test } from 'node:test';

import {
  encodings, newClient, nth, secret, startServer, subscribe, token, userToken, waitFor,
  waitTimeout,
} from './harness.mjs';
import {
  connected, jsonLines, legacyEncodings, legacySubscribe, newLegacyClient, settle, spy,
  transcript,
} from './legacy-harness.mjs';

const apiKey = 'herald-node-api-key';

const config = {
  token_hmac_secret_key: secret,
  api_key: apiKey,
  user_subscribe_to_personal: true,
  // Herald sends v1 clients WebSocket ping frames at this interval.
  websocket_ping_interval: '1s',
  // Short, so that a token refresh that did not take would be noticed.
  client_expired_close_delay: '1s',
  client_expired_sub_close_delay: '1s',
  // Channels without a namespace (personal channels #user, private $...)
  // keep history and recover, so server-side subscriptions recover too.
  history_size: 10,
  history_ttl: 300,
  recover: true,
  namespaces: [
    { name: 'chat', publish: true },
    { name: 'room', publish: true, presence: true, join_leave: true },
    { name: 'feed', publish: true, history_size: 10, history_ttl: 300 },
    { name: 'news', publish: true, history_size: 100, history_ttl: 300, recover: true },
  ],
};

let server;
let failed = false;
let clients = [];
const track = (c) => {
  clients.push(c);
  return c;
};

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
// printed once at the end, and prints what the test's 2.8.3 clients sent
// and received.
function it(name, fn, options = {}) {
  test(name, options, async (t) => {
    try {
      await fn(t);
    } catch (err) {
      failed = true;
      for (const c of clients) {
        if (c.legacy) {
          process.stderr.write(`--- frames of 2.8.3 client ${c.id ?? '(not connected)'} in "${name}":\n`
            + `${transcript(c.rec)}\n`);
        }
      }
      throw err;
    }
  });
}

let seq = 0;
/** A user or channel name unique to this run. */
const unique = (prefix) => `${prefix}-${++seq}`;

/** Calls a method of Herald's server API and returns its result. */
async function api(method, params) {
  const res = await fetch(`http://127.0.0.1:${server.port}/api/${method}`, {
    method: 'POST',
    headers: { 'X-API-Key': apiKey, 'Content-Type': 'application/json' },
    body: JSON.stringify(params),
  });
  const text = await res.text();
  assert.equal(res.status, 200, `POST /api/${method}: ${res.status} ${text}`);
  const body = JSON.parse(text);
  assert.equal(body.error, undefined, `POST /api/${method}: ${text}`);
  return body.result;
}

const legacyClient = (enc, tokenValue, options) =>
  track(newLegacyClient(server, enc, tokenValue, options));

/** A connected 2.8.3 client of user. */
async function connectLegacy(enc, user, options) {
  const c = legacyClient(enc, userToken(user), options);
  c.user = user;
  await connected(c);
  return c;
}

/** A connected 5.x client of user in encoding v2enc. */
async function connectCurrent(v2enc, user) {
  const c = track(newClient(server, v2enc, userToken(user)));
  c.connect();
  const ctx = await nth(c.events.connected, 1, 'connected');
  c.id = ctx.client;
  return c;
}

/** Waits for a join or leave event about client id in list. */
async function eventOf(list, id, what) {
  await waitFor(() => list.some((e) => e.info?.client === id),
    () => `${what} of ${id}, got ${JSON.stringify(list)}`);
  return list.find((e) => e.info?.client === id);
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Closes a client's socket from the client side, as a network drop would. */
function dropSocket(c) {
  c.rec.sockets.at(-1).close();
}

/**
 * Asserts that Herald sent a JSON v1 client no line it cannot dispatch:
 * 2.8.3 reads every line without an id as a push (result.type/channel/data),
 * so a bare {} (a v2 ping) would crash its dispatcher.
 */
function assertOnlyV1Lines(c) {
  for (const { raw, msg } of jsonLines(c.rec, 'in')) {
    if (msg.id > 0) continue;
    assert.ok(msg.result && typeof msg.result === 'object' && 'channel' in msg.result,
      `line without id that is not a v1 push: ${raw}`);
  }
}

for (const enc of legacyEncodings) {
  const json = enc.name === 'json';
  describe(`centrifuge-js 2.8.3 ${enc.name}`, () => {
    it('connects with a token', async () => {
      const user = unique(`alice-${enc.name}`);
      const c = legacyClient(enc, userToken(user));
      const ctx = await connected(c);
      assert.match(ctx.client, uuid);
      assert.equal(ctx.transport, 'websocket');
      assert.equal(c.isConnected(), true);
      assert.equal(c.rec.sockets.length, 1);
      if (json) {
        const [connect] = jsonLines(c.rec, 'out');
        assert.equal(connect.msg.method, undefined, connect.raw);
        assert.equal(connect.msg.id, 1);
        const reply = jsonLines(c.rec, 'in').find((l) => l.msg.id === 1);
        assert.ok(reply, 'no reply with id 1');
        assert.equal(reply.msg.error, undefined, reply.raw);
        assert.equal(reply.msg.result.client, ctx.client);
        assert.equal(typeof reply.msg.result.version, 'string', reply.raw);
      }
    });

    it('refreshes an expired connection token via onRefresh and connects', async () => {
      const user = unique(`erin-${enc.name}`);
      const refreshes = [];
      const expired = token({ sub: user, exp: Math.floor(Date.now() / 1000) - 60 });
      const c = legacyClient(enc, expired, {
        onRefresh: (ctx, cb) => {
          refreshes.push(ctx);
          cb({ status: 200, data: { token: userToken(user) } });
        },
      });
      await connected(c);
      // 2.8.3 asks onRefresh only after a connect error with code 109.
      assert.equal(refreshes.length, 1);
      assert.equal(c.isConnected(), true);
      assert.equal(c.rec.sockets.length, 2, 'expected one reconnect with the new token');
      if (json) {
        const first = jsonLines(c.rec, 'in')[0];
        assert.equal(first.msg.id, 1, first.raw);
        assert.equal(first.msg.error?.code, 109, first.raw);
      }
    });

    it('is disconnected without reconnect on an invalid token', async () => {
      const user = unique(`mallory-${enc.name}`);
      const bad = token({ sub: user, exp: Math.floor(Date.now() / 1000) + 3600 }, 'wrong-key');
      const c = legacyClient(enc, bad);
      c.connect();
      const ctx = await nth(c.events.disconnect, 1, 'disconnect');
      assert.deepEqual(ctx, { reason: 'invalid token', reconnect: false });
      assert.equal(c.events.connect.length, 0);
      // 2.8.3 schedules no reconnect once the advice said reconnect:false.
      assert.equal(c._reconnect, false);
      assert.equal(c.rec.sockets.length, 1);
      await waitFor(() => c.rec.closes.length === 1, () => 'close frame recorded');
      assert.deepEqual(JSON.parse(c.rec.closes[0].reason),
        { reason: 'invalid token', reconnect: false });
    });

    it('subscribes and delivers a publication from one client to another', async () => {
      const ch = unique(`chat:room-${enc.name}`);
      const alice = await connectLegacy(enc, unique('alice'));
      const bob = await connectLegacy(enc, unique('bob'));
      const aliceSub = await legacySubscribe(alice, ch);
      const bobSub = await legacySubscribe(bob, ch);
      const sctx = bobSub.events.subscribe[0];
      assert.deepEqual(
        { channel: sctx.channel, isResubscribe: sctx.isResubscribe, recovered: sctx.recovered },
        { channel: ch, isResubscribe: false, recovered: false },
      );

      const res = await aliceSub.publish(enc.encode({ text: 'hello bob' }));
      assert.deepEqual(res, {});

      const ctx = await nth(bobSub.events.publish, 1, 'publish');
      assert.deepEqual(enc.decode(ctx.data), { text: 'hello bob' });
      assert.equal(ctx.info?.user, alice.user);
      assert.equal(ctx.info?.client, alice.id);
      // The publisher is subscribed too and gets its own publication.
      const own = await nth(aliceSub.events.publish, 1, 'publish');
      assert.deepEqual(enc.decode(own.data), { text: 'hello bob' });
    });

    it('unsubscribes', async () => {
      const ch = unique(`room:unsub-${enc.name}`);
      const alice = await connectLegacy(enc, unique('alice'));
      const bob = await connectLegacy(enc, unique('bob'));
      const aliceSub = await legacySubscribe(alice, ch);
      const bobSub = await legacySubscribe(bob, ch);
      const clientsIn = async () => Object.keys((await aliceSub.presence()).presence).sort();
      let ids;
      await waitFor(async () => (ids = await clientsIn()).length === 2,
        () => `presence with 2 clients, got ${ids}`);

      bobSub.unsubscribe();
      assert.equal(bobSub.events.unsubscribe.length, 1);
      await waitFor(async () => (ids = await clientsIn()).length === 1,
        () => `presence without bob, got ${ids}`);
      assert.deepEqual(ids, [alice.id]);
      if (json) {
        const cmd = jsonLines(bob.rec, 'out').find((l) => l.msg.method === 2);
        assert.deepEqual(cmd.msg.params, { channel: ch });
        await waitFor(() => jsonLines(bob.rec, 'in').some((l) => l.msg.id === cmd.msg.id),
          () => `reply to ${cmd.raw}`);
        const reply = jsonLines(bob.rec, 'in').find((l) => l.msg.id === cmd.msg.id);
        assert.deepEqual(reply.msg, { id: cmd.msg.id, result: {} });
      }
    });

    it('answers presence and presence stats', async () => {
      const ch = unique(`room:lobby-${enc.name}`);
      const aliceUserName = unique('alice');
      const bobUserName = unique('bob');
      const alice = await connectLegacy(enc, aliceUserName);
      const bob = await connectLegacy(enc, bobUserName);
      const sub = await legacySubscribe(alice, ch);
      await legacySubscribe(bob, ch);

      let presence;
      await waitFor(async () => {
        presence = (await sub.presence()).presence;
        return Object.keys(presence).length === 2;
      }, () => `presence with 2 clients, got ${JSON.stringify(presence)}`);
      assert.equal(presence[alice.id]?.user, aliceUserName);
      assert.equal(presence[alice.id]?.client, alice.id);
      assert.equal(presence[bob.id]?.user, bobUserName);
      assert.equal(presence[bob.id]?.client, bob.id);

      const stats = await sub.presenceStats();
      assert.deepEqual(
        { num_clients: stats.num_clients, num_users: stats.num_users },
        { num_clients: 2, num_users: 2 },
      );
    });

    it('answers history with limit, since and reverse', async () => {
      const ch = unique(`feed:news-${enc.name}`);
      const alice = await connectLegacy(enc, unique('alice'));
      const sub = await legacySubscribe(alice, ch);
      for (let n = 1; n <= 5; n++) {
        await sub.publish(enc.encode({ n }));
      }
      const ns = (res) => res.publications.map((p) => enc.decode(p.data).n);
      const offsets = (res) => res.publications.map((p) => enc.num(p.offset));

      const top = await sub.history({ limit: 0 });
      assert.equal(enc.num(top.offset), 5);
      assert.ok(top.epoch, 'history without an epoch');
      assert.equal(top.publications?.length ?? 0, 0);

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
      const ch = unique(`news:wire-${enc.name}`);
      const reader = await connectLegacy(enc, unique('alice'));
      const writer = await connectLegacy(enc, unique('bob'));
      const sub = await legacySubscribe(reader, ch);
      assert.equal(sub.events.subscribe[0].recovered, false);
      const publish = (n) => writer.publish(ch, enc.encode({ n }));
      const ns = () => sub.events.publish.map((p) => enc.decode(p.data).n);

      await publish(1);
      await nth(sub.events.publish, 1, 'publish');

      // Drop the reader's socket and hold its reconnect attempts back until
      // the publications it misses are in history.
      reader.rec.blocked = true;
      dropSocket(reader);
      await nth(reader.events.disconnect, 1, 'disconnect');
      await publish(2);
      await publish(3);
      reader.rec.blocked = false;

      await nth(reader.events.connect, 2, 'connect');
      const ctx = await nth(sub.events.subscribe, 2, 'subscribe');
      assert.equal(ctx.isResubscribe, true, JSON.stringify(ctx));
      assert.equal(ctx.recovered, true, `resubscribe ${JSON.stringify(ctx)}`);
      await nth(sub.events.publish, 3, 'publish');

      // The live publication that follows must be the fourth event exactly:
      // nothing recovered is delivered twice.
      await publish(4);
      await nth(sub.events.publish, 4, 'publish');
      assert.deepEqual(ns(), [1, 2, 3, 4]);
      assert.deepEqual(sub.events.publish.map((p) => enc.num(p.offset)), [1, 2, 3, 4]);
      if (json) {
        const resub = jsonLines(reader.rec, 'out')
          .filter((l) => l.msg.method === 1 && l.msg.params.channel === ch)[1];
        assert.equal(resub.msg.params.recover, true, resub.raw);
        assert.equal(resub.msg.params.offset, 1, resub.raw);
      }
    });

    it('answers rpc with error 108 when there is no rpc proxy', async () => {
      const c = await connectLegacy(enc, unique('alice'));
      const r1 = await settle(c.rpc(enc.encode({ q: 1 })), waitTimeout, 'rpc');
      assert.equal(r1.ok, false, `rpc resolved: ${JSON.stringify(r1.value)}`);
      assert.equal(r1.error.code, 108, JSON.stringify(r1.error));
      const r2 = await settle(c.namedRPC('sum', enc.encode({ q: 2 })), waitTimeout, 'namedRPC');
      assert.equal(r2.ok, false, `namedRPC resolved: ${JSON.stringify(r2.value)}`);
      assert.equal(r2.error.code, 108, JSON.stringify(r2.error));
      assert.equal(c.isConnected(), true);
      assert.equal(c.events.disconnect.length, 0);
    });

    it('is disconnected after send when there is no message handler', async () => {
      const c = await connectLegacy(enc, unique('alice'));
      await c.send(enc.encode({ hello: 'server' }));
      const ctx = await nth(c.events.disconnect, 1, 'disconnect');
      assert.deepEqual(ctx, { reason: 'not available', reconnect: false });
      if (json) {
        const send = jsonLines(c.rec, 'out').find((l) => l.msg.method === 8);
        assert.equal(send.msg.id, undefined, send.raw);
      }
    });

    it('refreshes a short-lived connection token on the same connection', async () => {
      const user = unique(`frank-${enc.name}`);
      const shortToken = () => token({ sub: user, exp: Math.floor(Date.now() / 1000) + 2 });
      const asked = [];
      const c = legacyClient(enc, shortToken(), {
        onRefresh: (ctx, cb) => {
          asked.push(ctx);
          cb({ status: 200, data: { token: shortToken() } });
        },
      });
      const refreshed = spy(c, '_refreshResponse');
      await connected(c);
      // Each refresh gives another 2 s token; two in a row outlive the
      // first token and the server's 1 s expired close delay.
      await waitFor(() => refreshed.length >= 2,
        () => `2 refresh replies, got ${refreshed.length} (onRefresh called ${asked.length})`);
      for (const [result] of refreshed) {
        assert.equal(result.expires, true, JSON.stringify(result));
        assert.ok(enc.num(result.ttl) > 0, JSON.stringify(result));
        assert.equal(result.client, c.id, `refresh result ${JSON.stringify(result)}`);
      }
      assert.equal(c.events.connect.length, 1);
      assert.deepEqual(c.events.disconnect, []);
      assert.equal(c.rec.sockets.length, 1);
      if (json) {
        const cmd = jsonLines(c.rec, 'out').find((l) => l.msg.method === 10);
        assert.equal(typeof cmd.msg.params.token, 'string', cmd.raw);
      }
    });

    if (json) {
      it('refreshes a private channel token with sub_refresh', async () => {
        const user = unique('grace');
        const ch = unique('$secret');
        const asked = [];
        const subToken = (client, channel) => token({
          sub: user, channel, client, exp: Math.floor(Date.now() / 1000) + 2,
        });
        const c = legacyClient(enc, userToken(user), {
          onPrivateSubscribe: (ctx, cb) => {
            asked.push(ctx.data);
            const channels = ctx.data.channels.map((channel) => ({
              channel, token: subToken(ctx.data.client, channel),
            }));
            cb({ status: 200, data: { channels } });
          },
        });
        const subRefreshed = spy(c, '_subRefreshResponse');
        await connected(c);
        const sub = await legacySubscribe(c, ch);
        assert.deepEqual(asked[0], { client: c.id, channels: [ch] });

        await waitFor(() => subRefreshed.length >= 2,
          () => `2 sub_refresh replies, got ${subRefreshed.length}`);
        for (const [channel, result] of subRefreshed) {
          assert.equal(channel, ch);
          assert.equal(result.expires, true, JSON.stringify(result));
          assert.ok(result.ttl > 0, JSON.stringify(result));
        }
        assert.deepEqual(sub.events.unsubscribe, []);
        assert.deepEqual(c.events.disconnect, []);
        const cmd = jsonLines(c.rec, 'out').find((l) => l.msg.method === 11);
        assert.equal(cmd.msg.params.channel, ch, cmd.raw);

        // Still subscribed: a publication arrives.
        await api('publish', { channel: ch, data: { after: 'refresh' } });
        const pub = await nth(sub.events.publish, 1, 'publish');
        assert.deepEqual(pub.data, { after: 'refresh' });
      });
    } else {
      it('subscribes to a private channel with a token from onPrivateSubscribe', async () => {
        const user = unique('grace');
        const ch = unique('$secret');
        const c = legacyClient(enc, userToken(user), {
          onPrivateSubscribe: (ctx, cb) => {
            const channels = ctx.data.channels.map((channel) => ({
              channel,
              token: token({ sub: user, channel, client: ctx.data.client }),
            }));
            cb({ status: 200, data: { channels } });
          },
        });
        await connected(c);
        const sub = await legacySubscribe(c, ch);
        await api('publish', { channel: ch, data: { hello: 'private' } });
        const pub = await nth(sub.events.publish, 1, 'publish');
        assert.deepEqual(enc.decode(pub.data), { hello: 'private' });
      });
      test('refreshes a private channel token with sub_refresh', {
        skip: '2.8.3 protobuf build has no SUB_REFRESH schema (methodSchema.SUB_REFRESH is '
          + 'undefined, encoding the command throws), so it cannot send sub_refresh',
      }, () => {});
    }

    it('pings the server every pingInterval and stays connected', async () => {
      const c = legacyClient(enc, userToken(unique('henry')), {
        pingInterval: 1000,
        pongWaitTimeout: 2000,
      });
      const pings = spy(c, 'ping');
      const pongs = spy(c, '_pingResponse');
      await connected(c);
      // A ping without a reply would stop the pings and disconnect the
      // client ("no ping") after pongWaitTimeout.
      await waitFor(() => pongs.length >= 3,
        () => `3 ping replies, got ${pongs.length} (pings sent: ${pings.length})`, 15_000);
      assert.deepEqual(c.events.disconnect, []);
      assert.equal(c.events.connect.length, 1);
      assert.equal(c.isConnected(), true);
      // Herald keeps v1 connections alive with WebSocket ping frames.
      assert.ok(c.rec.pings >= 1, 'no WebSocket ping frame from the server');
      if (json) {
        const cmds = jsonLines(c.rec, 'out').filter((l) => l.msg.method === 7);
        assert.ok(cmds.length >= 3);
        const replies = jsonLines(c.rec, 'in');
        for (const cmd of cmds.slice(0, 3)) {
          const reply = replies.find((l) => l.msg.id === cmd.msg.id);
          assert.equal(reply?.raw, JSON.stringify({ id: cmd.msg.id }), `reply to ${cmd.raw}`);
        }
        assertOnlyV1Lines(c);
      }
    });

    it('delivers join and leave pushes', async () => {
      const ch = unique(`room:party-${enc.name}`);
      const bobUserName = unique('bob');
      const alice = await connectLegacy(enc, unique('alice'));
      const bob = await connectLegacy(enc, bobUserName);
      const aliceSub = await legacySubscribe(alice, ch);
      const bobSub = await legacySubscribe(bob, ch);

      // A subscriber is told of its own join too; look for bob's.
      const join = await eventOf(aliceSub.events.join, bob.id, 'join');
      assert.equal(join.info.user, bobUserName);

      bobSub.unsubscribe();
      const leave = await eventOf(aliceSub.events.leave, bob.id, 'leave');
      assert.equal(leave.info.user, bobUserName);
      assert.equal(aliceSub.events.leave.length, 1, JSON.stringify(aliceSub.events.leave));
    });

    it('is unsubscribed by the server API', async () => {
      const user = unique(`ivan-${enc.name}`);
      const ch = unique(`chat:kick-${enc.name}`);
      const c = await connectLegacy(enc, user);
      const sub = await legacySubscribe(c, ch);

      await api('unsubscribe', { user, channel: ch });
      const ctx = await nth(sub.events.unsubscribe, 1, 'unsubscribe');
      assert.deepEqual(ctx, { channel: ch });
      assert.equal(c.isConnected(), true);
      assert.equal(c.getSub(ch), null, 'the SDK still holds the subscription');
    });

    it('is subscribed by the server API and gets its pushes', async () => {
      const user = unique(`judy-${enc.name}`);
      const ch = unique(`room:srv-${enc.name}`);
      const c = await connectLegacy(enc, user);

      await api('subscribe', { user, channel: ch });
      await waitFor(() => c.events.subscribe.some((s) => s.channel === ch),
        () => `subscribe event for ${ch}, got ${JSON.stringify(c.events.subscribe)}`);
      const sctx = c.events.subscribe.find((s) => s.channel === ch);
      assert.equal(sctx.isResubscribe, false);
      assert.equal(sctx.recovered, false);

      await api('publish', { channel: ch, data: { text: 'server-side' } });
      await waitFor(() => c.events.publish.some((p) => p.channel === ch),
        () => `publish event for ${ch}`);
      const pub = c.events.publish.find((p) => p.channel === ch);
      assert.deepEqual(enc.decode(pub.data), { text: 'server-side' });

      // Join and leave of another client reach the top-level events.
      const otherUser = unique('ken');
      const other = await connectLegacy(enc, otherUser);
      const otherSub = await legacySubscribe(other, ch);
      const join = await eventOf(c.events.join, other.id, 'join');
      assert.equal(join.channel, ch);
      assert.equal(join.info.user, otherUser);
      otherSub.unsubscribe();
      const leave = await eventOf(c.events.leave, other.id, 'leave');
      assert.equal(leave.channel, ch);
      assert.equal(leave.info.user, otherUser);

      await api('unsubscribe', { user, channel: ch });
      await waitFor(() => c.events.unsubscribe.some((u) => u.channel === ch),
        () => `unsubscribe event for ${ch}`);
      assert.equal(c.isConnected(), true);
    });

    it('delivers an API publication on the personal channel to the top-level publish event',
      async () => {
        const user = unique(`demo-${enc.name}`);
        const personal = `#${user}`;
        const c = legacyClient(enc, userToken(user));
        await connected(c);
        await waitFor(() => c.events.subscribe.some((s) => s.channel === personal),
          () => `subscribe event for ${personal}, got ${JSON.stringify(c.events.subscribe)}`);
        const sctx = c.events.subscribe.find((s) => s.channel === personal);
        assert.equal(sctx.isResubscribe, false);
        assert.equal(sctx.recovered, false);

        await api('publish', { channel: personal, data: { time: 1650000005 } });
        const ctx = await nth(c.events.publish, 1, 'publish');
        assert.equal(ctx.channel, personal);
        assert.equal(enc.decode(ctx.data).time, 1650000005);
      });

    it('recovers the personal channel after a reconnect', async () => {
      const user = unique(`demo-${enc.name}`);
      const personal = `#${user}`;
      const c = legacyClient(enc, userToken(user));
      await connected(c);
      await waitFor(() => c.events.subscribe.some((s) => s.channel === personal),
        () => `subscribe event for ${personal}`);
      const publish = (time) => api('publish', { channel: personal, data: { time } });
      const times = () => c.events.publish.map((p) => enc.decode(p.data).time);

      await publish(1);
      await nth(c.events.publish, 1, 'publish');

      c.rec.blocked = true;
      dropSocket(c);
      await nth(c.events.disconnect, 1, 'disconnect');
      await publish(2);
      await publish(3);
      c.rec.blocked = false;

      await connected(c, 2);
      await waitFor(() => c.events.subscribe.filter((s) => s.channel === personal).length >= 2,
        () => `second subscribe event for ${personal}`);
      const again = c.events.subscribe.filter((s) => s.channel === personal)[1];
      assert.equal(again.isResubscribe, true, JSON.stringify(again));
      assert.equal(again.recovered, true, JSON.stringify(again));
      await nth(c.events.publish, 3, 'publish');
      await publish(4);
      await nth(c.events.publish, 4, 'publish');
      assert.deepEqual(times(), [1, 2, 3, 4]);
      if (json) {
        // Connect is the one command without a method (CONNECT = 0).
        const connect = jsonLines(c.rec, 'out').filter((l) => l.msg.method === undefined)[1];
        assert.equal(connect.msg.params.subs?.[personal]?.recover, true, connect.raw);
      }
    });

    it('is disconnected by the server API with the advice as sent', async () => {
      // Default: force disconnect, no reconnect.
      const u1 = unique(`leo-${enc.name}`);
      const c1 = await connectLegacy(enc, u1);
      await api('disconnect', { user: u1 });
      assert.deepEqual(await nth(c1.events.disconnect, 1, 'disconnect'),
        { reason: 'force disconnect', reconnect: false });
      assert.equal(c1._reconnect, false);

      // A custom code in the reconnect range: the client reconnects.
      const u2 = unique(`mia-${enc.name}`);
      const c2 = await connectLegacy(enc, u2);
      await api('disconnect', { user: u2, disconnect: { code: 4000, reason: 'maintenance' } });
      assert.deepEqual(await nth(c2.events.disconnect, 1, 'disconnect'),
        { reason: 'maintenance', reconnect: true });
      await nth(c2.events.connect, 2, 'connect');
      assert.equal(c2.rec.closes[0]?.code, 4000);

      // A custom code outside it: no reconnect.
      const u3 = unique(`ned-${enc.name}`);
      const c3 = await connectLegacy(enc, u3);
      await api('disconnect', { user: u3, disconnect: { code: 4500, reason: 'banned' } });
      assert.deepEqual(await nth(c3.events.disconnect, 1, 'disconnect'),
        { reason: 'banned', reconnect: false });
      assert.equal(c3._reconnect, false);

      // An explicit reconnect flag wins over the code.
      const u4 = unique(`olga-${enc.name}`);
      const c4 = await connectLegacy(enc, u4);
      await api('disconnect', {
        user: u4, disconnect: { code: 4000, reason: 'go away', reconnect: false },
      });
      assert.deepEqual(await nth(c4.events.disconnect, 1, 'disconnect'),
        { reason: 'go away', reconnect: false });
      assert.equal(c4._reconnect, false);
    });

    test('delivers a message push', {
      skip: 'Herald has no server API "send" method and nothing else in Herald '
        + 'sends a message push',
    }, () => {});

    const v2enc = encodings.find((e) => e.name === enc.name);
    it(`shares a channel with a centrifuge-js 5.x ${v2enc.name} client`, async () => {
      const ch = unique(`room:mixed-${enc.name}`);
      const oldUser = unique('old');
      const newUser = unique('new');
      const old = await connectLegacy(enc, oldUser);
      const cur = await connectCurrent(v2enc, newUser);
      const oldSub = await legacySubscribe(old, ch);
      const curSub = await subscribe(cur, ch);

      // The 2.8.3 client sees the 5.x one join.
      const join = await eventOf(oldSub.events.join, cur.id, 'join');
      assert.equal(join.info.user, newUser);

      await api('publish', { channel: ch, data: { from: 'api' } });
      await oldSub.publish(enc.encode({ from: 'old' }));
      await curSub.publish(v2enc.encode({ from: 'new' }));

      await nth(oldSub.events.publish, 3, 'publish');
      await nth(curSub.events.publication, 3, 'publication');
      assert.deepEqual(oldSub.events.publish.map((p) => enc.decode(p.data).from),
        ['api', 'old', 'new']);
      assert.deepEqual(curSub.events.publication.map((p) => v2enc.decode(p.data).from),
        ['api', 'old', 'new']);
      assert.equal(oldSub.events.publish[2].info?.client, cur.id);
      assert.equal(curSub.events.publication[1].info?.client, old.id);
      assert.equal(curSub.events.publication[1].info?.user, oldUser);

      let p1;
      await waitFor(async () => {
        p1 = (await oldSub.presence()).presence;
        return Object.keys(p1).length === 2;
      }, () => `2.8.3 presence with 2 clients, got ${JSON.stringify(p1)}`);
      assert.equal(p1[cur.id]?.user, newUser);
      assert.equal(p1[old.id]?.user, oldUser);

      const p2 = await curSub.presence();
      assert.equal(p2.clients[old.id]?.user, oldUser);
      assert.equal(p2.clients[cur.id]?.user, newUser);
      if (json) assertOnlyV1Lines(old);
    });
  });
}
