// The admin UI's entry point: asks the server whether a login is needed,
// then shows the login page or the shell (header, navigation, the page of
// the current route).

import { h, replace, fmtInt } from './dom.js';
import { boot, login, logout, onUnauthorized, session } from './api.js';
import { current } from './router.js';
import { store } from './store.js';
import { mountStatus } from './status.js';
import { mountActions } from './actions.js';
import { mountChannels, mountChannel } from './channels.js';

const app = document.getElementById('app');

const pages = {
  status: { title: 'Status', mount: (root) => mountStatus(root) },
  actions: { title: 'Actions', mount: (root, arg) => mountActions(root, arg) },
  channels: {
    title: 'Channels',
    mount: (root, arg) => (arg ? mountChannel(root, arg) : mountChannels(root)),
  },
};

let unmount = null;
let shell = null;

/** Shows the page of the current route inside the shell. */
function route() {
  if (!shell) return;
  unmount?.();
  unmount = null;
  const { page, arg } = current();
  const p = pages[page] || pages.status;
  for (const a of shell.nav.querySelectorAll('a')) {
    a.classList.toggle('active', a.dataset.page === (pages[page] ? page : 'status'));
  }
  document.title = `${p.title} · Herald admin`;
  shell.main.replaceChildren();
  unmount = p.mount(shell.main, arg) || null;
  shell.main.focus({ preventScroll: true });
}

function brand() {
  return h('a', { class: 'brand', href: '#/status' },
    h('img', { src: 'img/logo.svg', alt: '', width: 28, height: 28 }),
    h('span', { class: 'brand-name' }, 'Herald'),
    h('span', { class: 'brand-tag' }, 'admin'));
}

function showShell() {
  const nav = h('nav', { class: 'nav', 'aria-label': 'pages' },
    Object.entries(pages).map(([key, p]) =>
      h('a', { href: `#/${key}`, dataset: { page: key } }, p.title)));
  const summary = h('span', { class: 'summary', id: 'summary' });
  const logoutBtn = session.insecure
    ? h('span', { class: 'pill warn', title: 'admin.insecure is on: no login is asked' },
      'insecure')
    : h('button', { class: 'btn ghost', type: 'button', id: 'logout', onclick: doLogout },
      'Log out');
  const main = h('main', { class: 'main', id: 'main', tabindex: '-1' });
  replace(app,
    h('header', { class: 'topbar' },
      h('div', { class: 'topbar-inner' }, brand(), nav,
        h('div', { class: 'topbar-end' }, summary, logoutBtn))),
    main);
  app.className = '';
  shell = { nav, main, summary };

  store.subscribe((st) => {
    if (!st.last) return;
    const n = st.last.nodes.length;
    summary.textContent = `${n} ${n === 1 ? 'node' : 'nodes'} · ` +
      `${fmtInt(st.last.totals.clients)} connections`;
  });
  store.start();
  route();
}

function showLogin(message = '') {
  shell = null;
  unmount?.();
  unmount = null;
  store.stop();
  store.listeners.clear();

  const password = h('input', { class: 'input', type: 'password', id: 'password',
    name: 'password', autocomplete: 'current-password', required: true,
    'aria-label': 'admin password', placeholder: 'Admin password' });
  const error = h('p', { class: 'banner error', id: 'login-error', role: 'alert',
    hidden: !message }, message);
  const btn = h('button', { class: 'btn primary wide', type: 'submit' }, 'Log in');
  const submit = async (ev) => {
    ev.preventDefault();
    btn.disabled = true;
    error.hidden = true;
    try {
      if (await login(password.value)) {
        showShell();
        return;
      }
      error.textContent = 'Wrong password.';
    } catch (err) {
      error.textContent = `Could not log in: ${err.message}`;
    } finally {
      btn.disabled = false;
    }
    error.hidden = false;
    password.select();
  };

  document.title = 'Log in · Herald admin';
  app.className = 'login-screen';
  replace(app, h('form', { class: 'login', id: 'login', onsubmit: submit },
    h('div', { class: 'login-brand' }, brand()),
    h('h1', {}, 'Log in'),
    h('p', { class: 'muted' }, 'Enter the admin password from the server\'s configuration.'),
    error, password, btn));
  password.focus();
}

function doLogout() {
  logout();
  showLogin();
}

onUnauthorized(() => {
  logout();
  if (shell) showLogin('Your session has ended: log in again.');
});
window.addEventListener('hashchange', route);

async function start() {
  try {
    const { insecure, authenticated } = await boot();
    if (insecure || authenticated) showShell();
    else showLogin();
  } catch (err) {
    replace(app, h('p', { class: 'banner error' },
      `The admin interface could not start: ${err.message}`));
  }
}

start();
