// The channels pages: the list of active channels, and one channel with its
// presence, its history, and its publications watched as they arrive.

import { h, replace, fmtInt, fmtClock, compact, pretty } from './dom.js';
import { call, APIError, Unauthorized } from './api.js';
import { link, navigate } from './router.js';

/** How often the list and the presence are read again, in ms. */
const refreshMs = 5000;
/** How often a watched channel's history is read, in ms. */
const watchMs = 1000;
/** Publications read per history call while watching. */
const watchBatch = 100;
/** Publications kept on the page. */
const maxShown = 200;

// Error codes of the server API that the pages explain.
const errNotAvailable = 108;
const errUnrecoverable = 112;

/** Mounts the list of active channels. */
export function mountChannels(root) {
  let channels = [];
  const filter = h('input', {
    id: 'channel-filter', class: 'input', type: 'search', placeholder: 'Filter channels',
    'aria-label': 'filter channels', oninput: () => render(),
  });
  const count = h('span', { class: 'muted', id: 'channel-count' });
  const tbody = h('tbody');
  const banner = h('div', { class: 'banner error', hidden: true, role: 'alert' });
  const openInput = h('input', {
    class: 'input', id: 'channel-open', placeholder: 'Channel name, active or not',
    'aria-label': 'channel name', autocomplete: 'off', spellcheck: 'false',
  });

  const render = () => {
    const q = filter.value.trim().toLowerCase();
    const shown = channels.filter(([name]) => name.toLowerCase().includes(q));
    count.textContent = q ? `${shown.length} of ${channels.length} channels`
      : `${channels.length} active channels`;
    if (shown.length === 0) {
      replace(tbody, h('tr', {}, h('td', { colspan: 2, class: 'empty' },
        channels.length ? 'No channel matches the filter.'
          : 'No active channels: a channel is listed while it has subscribers.')));
      return;
    }
    replace(tbody, shown.map(([name, info]) => h('tr', {},
      h('td', { 'data-label': 'Channel' },
        h('a', { href: link('channels', name), class: 'mono' }, name)),
      h('td', { class: 'num', 'data-label': 'Subscribers' }, fmtInt(info.num_clients || 0)))));
  };

  const load = async () => {
    try {
      const res = await call('channels', {});
      channels = Object.entries(res.channels || {}).sort((a, b) =>
        (b[1].num_clients || 0) - (a[1].num_clients || 0) || a[0].localeCompare(b[0]));
      banner.hidden = true;
    } catch (err) {
      if (err instanceof Unauthorized) return;
      banner.hidden = false;
      banner.textContent = `Could not list channels: ${err.message}`;
    }
    render();
  };

  replace(root,
    h('div', { class: 'page-head' },
      h('h1', {}, 'Channels'),
      h('div', { class: 'page-tools' }, count,
        h('button', { class: 'btn ghost', type: 'button', onclick: load }, 'Refresh'))),
    banner,
    h('section', { class: 'panel' },
      h('div', { class: 'toolbar' }, filter,
        h('form', { class: 'inline-form', onsubmit: (ev) => {
          ev.preventDefault();
          const name = openInput.value.trim();
          if (name) navigate(link('channels', name));
        } }, openInput, h('button', { class: 'btn', type: 'submit' }, 'Open'))),
      h('div', { class: 'table-wrap' },
        h('table', { class: 'table', id: 'channels' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Channel'),
            h('th', { class: 'num' }, 'Subscribers'))),
          tbody))));

  render();
  load();
  const timer = setInterval(load, refreshMs);
  return () => clearInterval(timer);
}

/** Mounts the page of one channel. */
export function mountChannel(root, channel) {
  let stopped = false;
  const timers = [];
  const later = (fn, ms) => timers.push(setTimeout(() => !stopped && fn(), ms));

  const stats = h('div', { class: 'cards' });
  const presenceBody = h('div', { id: 'presence' }, h('p', { class: 'muted' }, 'Loading…'));
  const position = h('span', { class: 'muted mono', id: 'position' });
  const historyNote = h('p', { class: 'muted', id: 'history-note' }, 'Loading…');
  const list = h('ol', { class: 'feed', id: 'publications' });
  const watchBtn = h('button', { class: 'btn', type: 'button', id: 'watch', disabled: true,
    onclick: () => (watching ? pause() : watch()) }, 'Watch');

  // The position after the last publication shown; null until known.
  let since = null;
  let watching = false;
  let shown = 0;

  const loadPresence = async () => {
    try {
      const [st, pr] = await Promise.all([
        call('presence_stats', { channel }), call('presence', { channel })]);
      replace(stats,
        statCard('Clients', fmtInt(st.num_clients)), statCard('Users', fmtInt(st.num_users)));
      renderPresence(presenceBody, pr.presence || {});
    } catch (err) {
      if (err instanceof Unauthorized) return;
      replace(stats);
      replace(presenceBody, h('p', { class: 'muted' },
        err.code === errNotAvailable
          ? 'Presence is not enabled for this channel\'s namespace.'
          : `Could not read presence: ${err.message}`));
    }
    later(loadPresence, refreshMs);
  };

  const showPubs = (pubs, live) => {
    for (const p of pubs) {
      list.prepend(pubItem(p, live));
      shown++;
    }
    while (list.children.length > maxShown) list.lastElementChild.remove();
    list.hidden = shown === 0;
  };

  const setPosition = (res) => {
    since = { offset: res.offset || 0, epoch: res.epoch || '' };
    position.textContent = `offset ${since.offset} · epoch ${since.epoch || '—'}`;
  };

  const loadHistory = async () => {
    try {
      const res = await call('history', { channel, limit: 20, reverse: true });
      setPosition(res);
      showPubs((res.publications || []).reverse(), false);
      historyNote.textContent = shown
        ? 'Newest first. Watching adds publications as they arrive.'
        : 'No publications kept yet. Watching adds them as they arrive.';
      watchBtn.disabled = false;
      watch();
    } catch (err) {
      if (err instanceof Unauthorized) return;
      historyNote.textContent = err.code === errNotAvailable
        ? 'This channel keeps no history, so there is nothing to watch here: its ' +
          'publications go to subscribers and are not stored. Give its namespace ' +
          'history_size and history_ttl to watch it.'
        : `Could not read history: ${err.message}`;
      historyNote.classList.add('banner', 'info');
    }
  };

  const poll = async () => {
    if (!watching || stopped) return;
    let more = false;
    try {
      const res = await call('history', { channel, since, limit: watchBatch });
      if (!watching || stopped) return;
      const pubs = res.publications || [];
      showPubs(pubs, true);
      setPosition(pubs.length ? { offset: pubs.at(-1).offset, epoch: res.epoch } : res);
      more = pubs.length === watchBatch;
    } catch (err) {
      if (err instanceof Unauthorized) return;
      if (err instanceof APIError && err.code === errUnrecoverable) {
        // The stream moved on without us (a new epoch, or older entries
        // evicted): carry on from where it is now.
        list.prepend(h('li', { class: 'feed-gap' },
          'Some publications were missed: the history was reset or trimmed.'));
        setPosition(await call('history', { channel, limit: 0 }).catch(() => since));
      } else {
        historyNote.textContent = `Watching paused: ${err.message}`;
        pause();
        return;
      }
    }
    later(poll, more ? 0 : watchMs);
  };

  const watch = () => {
    if (watching) return;
    watching = true;
    watchBtn.textContent = 'Pause';
    watchBtn.classList.add('live');
    poll();
  };
  const pause = () => {
    watching = false;
    watchBtn.textContent = 'Watch';
    watchBtn.classList.remove('live');
  };

  replace(root,
    h('div', { class: 'page-head' },
      h('div', {},
        h('a', { href: '#/channels', class: 'back' }, '← Channels'),
        h('h1', { class: 'mono', id: 'channel-name' }, channel))),
    stats,
    h('div', { class: 'split' },
      h('section', { class: 'panel' },
        h('div', { class: 'panel-head' }, h('h2', {}, 'Publications'), position, watchBtn),
        historyNote, list),
      h('div', { class: 'stack' },
        publishPanel(channel),
        h('section', { class: 'panel' }, h('h2', {}, 'Presence'), presenceBody))));
  list.hidden = true;

  loadPresence();
  loadHistory();
  return () => {
    stopped = true;
    watching = false;
    for (const t of timers) clearTimeout(t);
  };
}

function statCard(label, value) {
  return h('div', { class: 'card' },
    h('div', { class: 'card-label' }, label), h('div', { class: 'card-value' }, value));
}

function renderPresence(el, presence) {
  const rows = Object.values(presence);
  if (rows.length === 0) {
    replace(el, h('p', { class: 'muted' }, 'Nobody is subscribed.'));
    return;
  }
  rows.sort((a, b) => (a.user || '').localeCompare(b.user || '') ||
    a.client.localeCompare(b.client));
  const info = (c) => c.conn_info ?? c.chan_info;
  const withInfo = rows.some((c) => info(c) !== undefined);
  replace(el, h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    h('thead', {}, h('tr', {}, h('th', {}, 'User'), h('th', {}, 'Client'),
      withInfo && h('th', {}, 'Info'))),
    h('tbody', {}, rows.map((c) => h('tr', {},
      h('td', { 'data-label': 'User' }, c.user || h('span', { class: 'muted' }, 'anonymous')),
      h('td', { class: 'mono small', 'data-label': 'Client' }, c.client),
      withInfo && h('td', { class: 'mono small', 'data-label': 'Info' },
        compact(info(c), 120))))))));
}

function pubItem(p, live) {
  const meta = [`#${p.offset ?? '?'}`];
  if (live) meta.push(`arrived ${fmtClock(Date.now())}`);
  if (p.info?.user) meta.push(`from ${p.info.user}`);
  return h('li', { class: `feed-item${live ? ' fresh' : ''}` },
    h('div', { class: 'feed-meta' }, meta.join(' · '),
      p.tags && h('span', { class: 'tags' }, compact(p.tags, 120))),
    h('pre', { class: 'code small' }, pretty(p.data)));
}

function publishPanel(channel) {
  const data = h('textarea', { class: 'input mono', rows: 4, id: 'publish-data',
    spellcheck: 'false', 'aria-label': 'data to publish', value: '{"text": "hello"}' });
  const out = h('div', { class: 'muted small', id: 'publish-result' });
  const btn = h('button', { class: 'btn primary', type: 'submit', id: 'publish' }, 'Publish');
  const submit = async (ev) => {
    ev.preventDefault();
    let value;
    try {
      value = JSON.parse(data.value);
    } catch (err) {
      out.textContent = `Data is not JSON: ${err.message}`;
      return;
    }
    btn.disabled = true;
    try {
      const res = await call('publish', { channel, data: value });
      out.textContent = res.offset ? `Published at offset ${res.offset}.` : 'Published.';
    } catch (err) {
      if (!(err instanceof Unauthorized)) out.textContent = `Not published: ${err.message}`;
    } finally {
      btn.disabled = false;
    }
  };
  return h('form', { class: 'panel', onsubmit: submit },
    h('h2', {}, 'Publish'), data,
    h('div', { class: 'form-actions' }, out, btn));
}
