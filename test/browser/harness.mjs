// Harness for the tutorial's browser tests: starts Herald, the tutorial app,
// and a front door (the app's Go reverse proxy or nginx) as child processes,
// records their output, and drives Debian's Chromium with playwright-core.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, chmodSync }
  from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

/** The tutorial's directory: views, static files, config and nginx.conf. */
export const tutorialDir = join(root, 'examples/tutorial');

/** Binaries under test; `scripts/test.sh browser` builds both. */
export const heraldBin = resolve(process.env.HERALD_BIN || join(root, 'bin/herald'));
export const tutorialBin = resolve(
  process.env.TUTORIAL_BIN || join(root, 'bin/herald-tutorial'));

/** Debian's Chromium (package chromium); never a downloaded browser. */
export const chromiumPath = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

/** Where screenshots go. */
export const outDir = resolve(process.env.BROWSER_TEST_OUT || join(here, 'out'));

/** The origin that the tutorial's config and app.js name. */
export const frontPort = 9000;
export const origin = `http://localhost:${frontPort}`;

/** Deadline of one expected event. Passing tests never wait for it. */
export const waitTimeout = 20_000;

/** Polls cond every 20 ms until it is truthy or timeout ms pass. */
export async function waitFor(cond, describe, timeout = waitTimeout) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeout} ms: ${describe()}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

/**
 * Fails with a clear message when port cannot be listened on, on any
 * address: the tests need it because a file under test hardcodes it.
 */
export function requireFreePort(port, why) {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', (err) => {
      fail(new Error(`port ${port} is busy (${err.code}): ${why}; ` +
        'stop whatever listens there and run the tests again'));
    });
    s.listen(port, () => s.close(() => ok()));
  });
}

/** A child process whose output is kept for diagnostics. */
export class Proc {
  constructor(name, cmd, args, opts = {}) {
    this.name = name;
    this.lines = [];
    this.exited = null;
    this.child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    this.exit = new Promise((ok) => {
      this.child.once('exit', (code, signal) => {
        this.exited = { code, signal };
        ok(this.exited);
      });
      this.child.once('error', (err) => {
        this.lines.push(`spawn failed: ${err.message}`);
        this.exited = { error: err };
        ok(this.exited);
      });
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      let rest = '';
      stream.setEncoding('utf8');
      stream.on('data', (chunk) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop();
        this.lines.push(...parts);
      });
      stream.on('end', () => rest && this.lines.push(rest));
    }
    running.add(this);
  }

  /** Number of output lines that match re. */
  count(re) {
    return this.lines.filter((l) => re.test(l)).length;
  }

  /** Waits for an output line matching re; fails early if the child exits. */
  async waitLine(re, timeout = waitTimeout) {
    await waitFor(() => {
      if (this.exited) throw new Error(`${this.name} exited: ${JSON.stringify(this.exited)}`);
      return this.count(re) > 0;
    }, () => `${this.name} printed no line matching ${re}`, timeout);
  }

  /** The last n output lines, for a failure report. */
  tail(n = 60) {
    return this.lines.slice(-n).map((l) => `  ${this.name}| ${l}`).join('\n');
  }

  /** Stops the child with SIGTERM, then SIGKILL after 10 s. */
  async stop() {
    running.delete(this);
    if (this.exited) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exit;
    clearTimeout(timer);
  }
}

// Children still running when the test process exits are killed.
const running = new Set();
process.on('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});

/** Polls url until check(response) is true. */
export async function waitHttp(url, check, describe, proc) {
  let last = 'no answer';
  await waitFor(async () => {
    if (proc?.exited) {
      throw new Error(`${proc.name} exited: ${JSON.stringify(proc.exited)}`);
    }
    try {
      const res = await fetch(url, { redirect: 'manual' });
      const body = await res.text();
      last = `${res.status} ${body.slice(0, 200)}`;
      return check(res, body);
    } catch (err) {
      last = err.cause?.code || err.message;
      return false;
    }
  }, () => `${describe}: GET ${url}: ${last}`);
}

/**
 * Starts Herald with the tutorial's config.json. port: its HTTP port;
 * connectEndpoint: overrides the config's connect proxy endpoint.
 */
export async function startHerald({ port, connectEndpoint }) {
  const args = ['-c', join(tutorialDir, 'config.json'), '--port', String(port)];
  const env = { ...process.env };
  if (connectEndpoint) env.CENTRIFUGO_PROXY_CONNECT_ENDPOINT = connectEndpoint;
  if (!existsSync(heraldBin)) {
    throw new Error(`${heraldBin} is missing: go build -o bin/herald ./cmd/herald`);
  }
  const p = new Proc('herald', heraldBin, args, { env });
  await waitHttp(`http://127.0.0.1:${port}/health`, (r) => r.status === 200,
    'Herald is not healthy', p);
  return p;
}

/**
 * Starts the tutorial app. addr: its listen address; heraldPort: Herald's
 * port; page: "app" or "seed"; front: the front door's listen address or "".
 */
export async function startApp({ addr, heraldPort, page, front, interval }) {
  if (!existsSync(tutorialBin)) {
    throw new Error(`${tutorialBin} is missing: ` +
      'go build -o bin/herald-tutorial ./examples/tutorial');
  }
  const args = ['-dir', tutorialDir, '-addr', addr,
    '-herald-url', `http://127.0.0.1:${heraldPort}`,
    '-page', page, '-interval', interval];
  if (front) args.push('-front', front);
  const p = new Proc('app', tutorialBin, args);
  await p.waitLine(/msg="app listening"/);
  if (front) await p.waitLine(new RegExp(`^open ${origin}$`));
  return p;
}

/**
 * Starts nginx with the tutorial's nginx.conf, unchanged, under a scratch
 * prefix. Returns the process and a function that reads its error log.
 */
export async function startNginx() {
  const bin = process.env.NGINX_BIN ||
    ['/usr/sbin/nginx', '/usr/local/sbin/nginx', '/usr/bin/nginx'].find(existsSync);
  if (!bin) throw new Error('nginx is not installed (Debian package nginx)');
  const prefix = mkdtempSync(join(tmpdir(), 'herald-nginx-'));
  chmodSync(prefix, 0o755); // workers run as an unprivileged user
  const p = new Proc('nginx', bin,
    ['-p', `${prefix}/`, '-e', 'error.log', '-c', join(tutorialDir, 'nginx.conf')]);
  p.errorLog = () => {
    try {
      return readFileSync(join(prefix, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  p.cleanup = () => rmSync(prefix, { recursive: true, force: true });
  return p;
}

/** Launches Debian's Chromium headless with a fresh profile. */
export async function launchBrowser() {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing (Debian packages chromium, ` +
      'chromium-driver); never `npx playwright install`');
  }
  const profile = mkdtempSync(join(tmpdir(), 'herald-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
      '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Makes outDir and returns the path of a file in it. */
export function outFile(name) {
  mkdirSync(outDir, { recursive: true });
  return join(outDir, name);
}
