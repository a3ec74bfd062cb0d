// The status page: totals over the cluster, charts of connections and
// message rates over the last minutes, and one row per node.

import {
  h, replace, fmtInt, fmtRate, fmtBytes, fmtCPU, fmtDuration, fmtClock, NA,
} from './dom.js';
import { LineChart } from './chart.js';
import { store, windowMs } from './store.js';
import { pollSeconds } from './metrics.js';

const columns = [
  ['Node', (n) => h('span', { class: 'node-name' }, n.name || n.uid || NA)],
  ['Version', (n) => n.version || NA],
  // info leaves out an uptime of zero.
  ['Uptime', (n) => fmtDuration(n.uptime ?? 0)],
  ['Connections', (n) => fmtInt(n.num_clients), 'num'],
  ['Users', (n) => fmtInt(n.num_users), 'num'],
  ['Subscriptions', (n) => fmtInt(n.num_subs), 'num'],
  ['Channels', (n) => fmtInt(n.num_channels), 'num'],
  ['Memory', (n) => fmtBytes(n.process?.rss), 'num'],
  ['CPU', (n) => fmtCPU(n.process?.cpu), 'num'],
  ['Sent/s', (n) => fmtRate(n.rates?.sent), 'num', 'publications sent per second'],
  ['Received/s', (n) => fmtRate(n.rates?.received), 'num',
    'frames received from clients per second'],
];

/** Mounts the page into root; returns its unmount. */
export function mountStatus(root) {
  const cards = h('div', { class: 'cards' });
  const connChart = new LineChart({
    title: 'Connections', series: [{ name: 'connections' }],
    format: fmtInt, windowMs,
  });
  const msgChart = new LineChart({
    title: 'Messages per second',
    series: [{ name: 'publications sent' }, { name: 'client frames received' }],
    format: fmtRate, windowMs,
  });
  const tbody = h('tbody');
  const updated = h('span', { class: 'muted', id: 'status-updated' }, 'Loading…');
  const banner = h('div', { class: 'banner error', hidden: true, role: 'alert' });
  const note = h('p', { class: 'muted small', id: 'metrics-note' });

  replace(root,
    h('div', { class: 'page-head' },
      h('h1', {}, 'Status'),
      h('div', { class: 'page-tools' }, updated,
        h('button', { class: 'btn ghost', type: 'button', onclick: () => store.poll() },
          'Refresh'))),
    banner,
    cards,
    h('div', { class: 'charts' }, connChart.el, msgChart.el),
    note,
    h('section', { class: 'panel' },
      h('h2', {}, 'Nodes'),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table', id: 'nodes' },
          h('thead', {}, h('tr', {}, columns.map(([name, , cls, title]) =>
            h('th', { class: cls, title }, name)))),
          tbody))));

  const render = () => {
    if (store.error) {
      banner.hidden = false;
      banner.textContent = `Could not read the node status: ${store.error.message}`;
    } else {
      banner.hidden = true;
    }
    const last = store.last;
    if (!last) return;

    const t = last.totals;
    // A user or channel on several nodes counts once on each of them.
    const summed = last.nodes.length > 1 ? 'sum over nodes' : '';
    replace(cards,
      card('Nodes', fmtInt(last.nodes.length), 'nodes'),
      card('Connections', fmtInt(t.clients), 'clients'),
      card('Users', fmtInt(t.users), 'users', summed),
      card('Subscriptions', fmtInt(t.subs), 'subs'),
      card('Channels', fmtInt(t.channels), 'channels', summed),
      card('Messages/s', t.sent === null && t.received === null ? NA
        : `${fmtRate(t.sent ?? 0)} / ${fmtRate(t.received ?? 0)}`, 'rate',
      'sent / received'));
    connChart.update(store.samples.map((p) => ({ t: p.t, v: [p.totals.clients] })));
    msgChart.update(store.samples.map((p) => ({
      t: p.t, v: [p.totals.sent ?? 0, p.totals.received ?? 0],
    })));
    const interval = Math.max(0, ...last.nodes.map((n) => n.metrics?.interval || 0));
    note.textContent = t.sent === null && t.received === null
      ? 'Message rates appear once the nodes report metrics in info.'
      : interval > pollSeconds
        ? `Nodes aggregate their metrics every ${interval} s: rates follow at that pace.`
        : '';
    replace(tbody, last.nodes.map((n) => h('tr', {},
      columns.map(([name, cell, cls]) => h('td', { class: cls, 'data-label': name },
        cell(n))))));
    updated.textContent = `Updated ${fmtClock(last.t)} · every ${pollSeconds} s`;
  };

  render();
  const unsubscribe = store.subscribe(render);
  return () => {
    unsubscribe();
    connChart.destroy();
    msgChart.destroy();
  };
}

function card(label, value, key, hint) {
  return h('div', { class: 'card', dataset: { key } },
    h('div', { class: 'card-label' }, label),
    h('div', { class: 'card-value' }, value),
    hint && h('div', { class: 'card-hint' }, hint));
}
