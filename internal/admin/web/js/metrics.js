// Message rates from the counters of info's metrics.items. A node rebuilds
// its metrics every metrics.interval seconds, and a counter's item is what
// was added during that interval: its rate is the item over the interval.
// Items of a node that reports no interval are taken as running totals,
// whose rate is their increase between two polls.

/** Counter names read from metrics.items, exact or as prefixes. */
export const counters = {
  // Publications that the node published.
  sentPublications: 'centrifugo.node.messages_sent_count.type.publication',
  // Frames written to and read from clients, by frame type and transport.
  sentFrames: 'centrifugo.transport.messages_sent.frame_type.',
  receivedFrames: 'centrifugo.transport.messages_received.frame_type.',
  // Server API calls, by method.
  apiCalls: 'centrifugo.api.command_duration_seconds.count.method.',
};

/** Sums the items whose name starts with prefix; null when there are none. */
export function sumPrefix(items, prefix) {
  let sum = null;
  for (const [k, v] of Object.entries(items || {})) {
    if (k.startsWith(prefix) && typeof v === 'number') sum = (sum || 0) + v;
  }
  return sum;
}

/**
 * The counters of one node that the status page shows as rates: messages
 * sent (publications when counted, else every frame) and received. All are
 * null when the node reports no metrics; a series that it reports no item
 * of has counted nothing yet.
 */
export function nodeCounters(node) {
  const items = node.metrics?.items;
  if (!items) return { sent: null, received: null, api: null };
  const pubs = items[counters.sentPublications];
  return {
    sent: typeof pubs === 'number' ? pubs : sumPrefix(items, counters.sentFrames) ?? 0,
    received: sumPrefix(items, counters.receivedFrames) ?? 0,
    api: sumPrefix(items, counters.apiCalls) ?? 0,
  };
}

/** Turns readings of counters into rates per second. */
export class Rates {
  constructor() {
    this.totals = new Map();
  }

  /**
   * Records a reading of counter key at time now (ms) and returns its rate
   * per second, or null when value is null. interval is the node's
   * aggregation period in seconds, 0 when it reports none.
   */
  update(key, value, now, interval = 0) {
    if (typeof value !== 'number') {
      this.totals.delete(key);
      return null;
    }
    if (interval > 0) {
      this.totals.delete(key);
      return value / interval;
    }

    const s = this.totals.get(key);
    if (!s || value < s.value) {
      // First reading, or the node restarted and its counters with it.
      this.totals.set(key, { value, at: now, rate: 0 });
      return 0;
    }
    if (value > s.value) {
      s.rate = (value - s.value) / ((now - s.at) / 1000 || 1);
      s.value = value;
      s.at = now;
      return s.rate;
    }
    // Unchanged since a poll ago: traffic may have paused between two
    // polls; unchanged for longer, it has stopped.
    if (now - s.at > pollSeconds * 1500) s.rate = 0;
    return s.rate;
  }

  /** Forgets the counters whose key does not satisfy keep. */
  prune(keep) {
    for (const k of this.totals.keys()) if (!keep(k)) this.totals.delete(k);
  }
}

/** Seconds between two polls of info. */
export const pollSeconds = 5;
