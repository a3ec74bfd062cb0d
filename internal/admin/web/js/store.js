// The cluster's state, polled with info every few seconds while a session
// is open, so that the charts keep their history when the user visits the
// other pages.

import { call } from './api.js';
import { Rates, nodeCounters, pollSeconds } from './metrics.js';

/** How much history the charts keep, in ms. */
export const windowMs = 10 * 60 * 1000;

/**
 * A sample: { t, nodes: [node with .rates], totals: { clients, users, subs,
 * channels, sent, received } } where sent and received are messages per
 * second, null when no node reports them.
 */
export const store = {
  samples: [],
  last: null,
  error: null,
  listeners: new Set(),
  timer: null,
  gen: 0,
  rates: new Rates(),

  /** Registers fn to run after every poll; returns its removal. */
  subscribe(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  },

  /** Starts polling, at once and then every pollSeconds. */
  start() {
    if (this.timer) return;
    // A poll that was under way at a stop must not start a second loop.
    const gen = ++this.gen;
    const tick = async () => {
      await this.poll();
      if (gen === this.gen) this.timer = setTimeout(tick, pollSeconds * 1000);
    };
    this.timer = setTimeout(tick, 0);
  },

  /** Stops polling and forgets the history, as at logout. */
  stop() {
    clearTimeout(this.timer);
    this.timer = null;
    this.gen++;
    this.samples = [];
    this.last = null;
    this.error = null;
    this.rates = new Rates();
  },

  /** Polls once now; the next scheduled poll still happens. */
  async poll() {
    const gen = this.gen;
    try {
      const res = await call('info');
      if (gen !== this.gen) return;
      this.add(res.nodes || [], Date.now());
      this.error = null;
    } catch (err) {
      if (gen !== this.gen) return;
      this.error = err;
    }
    for (const fn of this.listeners) fn(this);
  },

  add(nodes, now) {
    const totals = { clients: 0, users: 0, subs: 0, channels: 0, sent: null, received: null };
    const sum = (k, v) => {
      if (typeof v === 'number') totals[k] = (totals[k] || 0) + v;
    };
    for (const n of nodes) {
      const c = nodeCounters(n);
      const interval = n.metrics?.interval || 0;
      n.rates = {
        sent: this.rates.update(`${n.uid}/sent`, c.sent, now, interval),
        received: this.rates.update(`${n.uid}/received`, c.received, now, interval),
      };
      sum('clients', n.num_clients);
      sum('users', n.num_users);
      sum('subs', n.num_subs);
      sum('channels', n.num_channels);
      sum('sent', n.rates.sent);
      sum('received', n.rates.received);
    }
    const uids = new Set(nodes.map((n) => n.uid));
    this.rates.prune((k) => uids.has(k.slice(0, k.lastIndexOf('/'))));

    this.last = { t: now, nodes, totals };
    this.samples.push(this.last);
    while (this.samples.length && this.samples[0].t < now - windowMs) this.samples.shift();
  },
};
