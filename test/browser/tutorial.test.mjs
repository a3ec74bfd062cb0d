// The tutorial end to end in headless Chromium: log in at
// http://localhost:9000, see the page connect to Herald (whose connect proxy
// asks the app about the session cookie), see the server time arrive on the
// user's personal channel, log out, and see a new connection refused.
//
// Each page (centrifuge-js 5, and the tutorial's own page with centrifuge-js
// 2.8.3) runs through each front door (the app's Go reverse proxy, and nginx
// with examples/tutorial/nginx.conf). The config and the tutorial's app.js
// are used unchanged, so the front door is always on port 9000; with nginx,
// whose config names them, the app is on 3000 and Herald on 8000 too. With
// the Go front door, Herald and the app are on free ports.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  freePort, launchBrowser, origin, outFile, frontPort, requireFreePort,
  startApp, startHerald, startNginx, waitFor, waitTimeout,
} from './harness.mjs';

/** Publication interval of the app: short, and a second apart for times. */
const interval = '1s';

const pages = {
  app: {
    title: 'centrifuge-js 5 page',
    sdk: '/vendor/centrifuge.js',
    script: '/app.js',
    connected: 'Connected',
    disconnected: 'Disconnected',
  },
  seed: {
    title: "tutorial's page with centrifuge-js 2.8.3",
    sdk: '/vendor/centrifuge-2.8.3.min.js',
    script: '/seed/app.js',
    connected: 'Connected to Centrifugo',
    disconnected: 'Disconnected from Centrifugo',
  },
};

const refusedAnswer =
  '{"disconnect":{"code":1000,"reason":"unauthorized","reconnect":false}}';
const refusedLine = /msg="connect proxy refused".* transport=websocket/;
const acceptedLine = /msg="connect proxy accepted" user=demo-user/;

/** Lines of the page's #log, in order. */
function logLines(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('#log > div')].map((d) => d.textContent));
}

/** Starts Herald, the app and the front door for one test. */
async function startStack(frontDoor, pageName) {
  const procs = [];
  const stack = { procs, stop: async () => {
    for (const p of procs.reverse()) {
      await p.stop();
      p.cleanup?.();
    }
  } };
  try {
    await requireFreePort(frontPort,
      `the front door must be on ${origin}, the origin that the tutorial's ` +
      'config.json allows and its app.js connects to');
    if (frontDoor === 'go') {
      const [heraldPort, appPort] = [await freePort(), await freePort()];
      procs.push(await startHerald({
        port: heraldPort,
        connectEndpoint: `http://127.0.0.1:${appPort}/centrifugo/connect`,
      }));
      stack.app = await startApp({
        addr: `127.0.0.1:${appPort}`, heraldPort, page: pageName,
        front: `:${frontPort}`, interval,
      });
      procs.push(stack.app);
    } else {
      await requireFreePort(3000, 'nginx.conf sends / to localhost:3000');
      await requireFreePort(8000, 'nginx.conf sends /connection to localhost:8000');
      procs.push(await startHerald({ port: 8000 }));
      stack.app = await startApp({
        addr: ':3000', heraldPort: 8000, page: pageName, front: '', interval,
      });
      procs.push(stack.app);
      stack.nginx = await startNginx();
      procs.push(stack.nginx);
    }
    // The front door is up when it serves the login form.
    let last = '';
    await waitFor(async () => {
      for (const p of procs) {
        if (p.exited) throw new Error(`${p.name} exited: ${JSON.stringify(p.exited)}`);
      }
      try {
        const res = await fetch(`${origin}/`);
        last = `${res.status}`;
        return res.status === 200 && (await res.text()).includes('name="username"');
      } catch (err) {
        last = err.cause?.code || err.message;
        return false;
      }
    }, () => `front door (${frontDoor}) does not serve the login form: ${last}`);
    return stack;
  } catch (err) {
    err.message += `\n${report(stack)}`;
    await stack.stop();
    throw err;
  }
}

/** Output of every process of the stack, for a failure message. */
function report(stack, extra = []) {
  const parts = [...extra];
  for (const p of stack.procs) parts.push(`--- ${p.name} output (tail):\n${p.tail()}`);
  if (stack.nginx) parts.push(`--- nginx error.log:\n${stack.nginx.errorLog()}`);
  return parts.join('\n');
}

for (const frontDoor of ['go', 'nginx']) {
  for (const pageName of ['app', 'seed']) {
    const want = pages[pageName];
    const door = frontDoor === 'go' ? 'Go front door' : 'nginx';
    const name = `${frontDoor}-${pageName}`;

    test(`${door}: ${want.title}`, { timeout: 120_000 }, async (t) => {
      const stack = await startStack(frontDoor, pageName);
      const browser = await launchBrowser().catch(async (err) => {
        await stack.stop();
        throw err;
      });
      const page = await browser.context.newPage();
      const consoleLines = [];
      page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
      page.setDefaultTimeout(waitTimeout);

      try {
        // Log in.
        await page.goto(`${origin}/`);
        await page.locator('#username').fill('demo-user');
        await page.locator('#password').fill('demo-pass');
        await Promise.all([
          page.waitForURL(`${origin}/`, { waitUntil: 'load' }),
          page.locator('input[type="submit"]').click(),
        ]);
        await page.locator('a[href="/logout"]').waitFor();
        const [session] = (await browser.context.cookies(origin))
          .filter((c) => c.name === 'tutorial_sid');
        assert.ok(session, 'no session cookie after login');
        assert.equal(session.httpOnly, true, 'session cookie is not HttpOnly');

        // Connected, through the connect proxy with the session cookie.
        await page.waitForFunction((text) =>
          [...document.querySelectorAll('#log > div')].some((d) => d.textContent === text),
        want.connected);
        assert.ok(stack.app.count(acceptedLine) >= 1,
          'the page is connected, but the app saw no accepted connect proxy call');

        // At least two publications, their times increasing.
        await page.waitForFunction(() => {
          const times = [...document.querySelectorAll('#log > div')]
            .map((d) => /^Publication, time = (\d+)$/.exec(d.textContent))
            .filter(Boolean).map((m) => Number(m[1]));
          return times.length >= 2 && times.at(-1) > times[0] &&
            times.every((v, i) => i === 0 || v >= times[i - 1]);
        });
        const lines = await logLines(page);
        const times = lines.map((l) => /^Publication, time = (\d+)$/.exec(l))
          .filter(Boolean).map((m) => Number(m[1]));
        const now = Math.floor(Date.now() / 1000);
        assert.ok(Math.abs(times.at(-1) - now) < 30,
          `publication time ${times.at(-1)} is not the server time (now ${now})`);
        assert.equal(lines[0], want.connected, `log: ${JSON.stringify(lines)}`);

        const shot = outFile(`${name}.png`);
        await page.screenshot({ path: shot, fullPage: true });
        t.diagnostic(`screenshot: ${shot}`);

        // Log out: the form comes back and the session is gone.
        await Promise.all([
          page.waitForURL(`${origin}/`, { waitUntil: 'load' }),
          page.locator('a[href="/logout"]').click(),
        ]);
        await page.locator('#username').waitFor();
        const left = (await browser.context.cookies(origin))
          .filter((c) => c.name === 'tutorial_sid');
        assert.deepEqual(left, [], 'session cookie kept after logout');

        // The connect proxy refuses the browser now, and the old session.
        const res = await page.request.post(`${origin}/centrifugo/connect`, {
          data: { client: 'browser-test', transport: 'websocket' },
        });
        assert.equal(await res.text(), refusedAnswer);
        const old = await fetch(`${origin}/centrifugo/connect`, {
          method: 'POST', headers: { Cookie: `tutorial_sid=${session.value}` },
        });
        assert.equal(await old.text(), refusedAnswer, 'the old session still works');

        // A new connection from the page is refused: the same script with the
        // same SDK, on the login page, without a session.
        const refusedBefore = stack.app.count(refusedLine);
        await page.evaluate(() => {
          const log = document.createElement('div');
          log.id = 'log';
          document.body.appendChild(log);
        });
        await page.addScriptTag({ url: want.sdk });
        await page.addScriptTag({ url: want.script });
        await waitFor(() => stack.app.count(refusedLine) > refusedBefore,
          () => 'the app saw no refused connect proxy call for the new connection');
        // Both pages report the refusal as a disconnect for good, after
        // one attempt: centrifuge-js 2 reads reconnect false from the JSON
        // close reason, and centrifuge-js 5, which would take the
        // backend's code 1000 for a closed transport and try again, gets
        // the terminal code 3503 that Herald sends v2 clients instead.
        await page.waitForFunction((text) =>
          [...document.querySelectorAll('#log > div')]
            .some((d) => d.textContent === text),
        want.disconnected);
        assert.equal(stack.app.count(refusedLine), refusedBefore + 1,
          'the page tried to connect again after the refusal');
        const after = await logLines(page);
        assert.ok(!after.includes(want.connected),
          `connected without a session: ${JSON.stringify(after)}`);
        const shotOut = outFile(`${name}-logged-out.png`);
        await page.screenshot({ path: shotOut, fullPage: true });
        t.diagnostic(`screenshot: ${shotOut}`);
        // Stop the client, should it still run, before the stack goes away.
        await page.evaluate(() => centrifuge.disconnect()); // eslint-disable-line no-undef
      } catch (err) {
        const shot = outFile(`${name}-failure.png`);
        await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
        const lines = await logLines(page).catch(() => ['(no page)']);
        err.message += '\n' + report(stack, [
          `--- failure screenshot: ${shot}`,
          `--- page ${page.url()} #log: ${JSON.stringify(lines)}`,
          `--- browser console:\n${consoleLines.map((l) => `  ${l}`).join('\n')}`,
        ]);
        throw err;
      } finally {
        await browser.close();
        await stack.stop();
      }
    });
  }
}
