// Debian's Chromium driven by playwright-core (no browser download), plus page helpers.
//
//   CHROMIUM_PATH  the browser (default /usr/bin/chromium)

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { daemonProblems, failOnProblems, startSandboxd } from './sandboxd.mjs';

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-quic',
  '--disable-sync',
];

export function browserProblems() {
  try {
    fs.accessSync(CHROMIUM_PATH, fs.constants.X_OK);
    return [];
  } catch {
    return [
      `no Chromium at ${CHROMIUM_PATH} — install it: apt-get install -y chromium (or set CHROMIUM_PATH); ` +
        'browsers are not downloaded (`npx playwright install` is not used)',
    ];
  }
}

export const checkBrowserPrerequisites = () => failOnProblems(browserProblems());

/** Every prerequisite of the suite (build, dashboard, runc, root, Chromium) at once. */
export const checkPrerequisites = () => failOnProblems([...daemonProblems(), ...browserProblems()]);

/**
 * The usual `before`: check everything, start a sandboxd (see startSandboxd) and a Chromium.
 * Returns {daemon, browser}; `stopAll` undoes it (also after a partial start).
 */
export async function startAll(daemonOptions) {
  checkPrerequisites();
  const env = { daemon: null, browser: null };
  try {
    env.daemon = await startSandboxd(daemonOptions);
    env.browser = await launchBrowser();
  } catch (err) {
    await stopAll(env);
    throw err;
  }
  return env;
}

export async function stopAll(env) {
  try {
    await env?.browser?.close();
  } finally {
    await env?.daemon?.stop();
  }
}

// Browsers still open when the process exits: their profile dirs are removed (Chromium itself
// dies with its pipe to this process).
const open = new Set();
process.on('exit', () => {
  for (const b of open) fs.rmSync(b.userDataDir, { recursive: true, force: true });
});

/**
 * Launch Chromium headless with a fresh profile (`--user-data-dir` = a new temp dir, passed by
 * launchPersistentContext). Returns {context, userDataDir, close()}; all pages share the context
 * (and so the session cookie).
 */
export async function launchBrowser({ viewport = { width: 1280, height: 860 } } = {}) {
  checkBrowserPrerequisites();
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sandboxd-e2e-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      timeout: 30_000,
    });
  } catch (err) {
    fs.rmSync(userDataDir, { recursive: true, force: true });
    throw new Error(`could not launch ${CHROMIUM_PATH}: ${err.message}`);
  }
  const browser = {
    context,
    userDataDir,
    async close() {
      if (!open.has(browser)) return;
      open.delete(browser);
      try {
        await context.close();
      } finally {
        fs.rmSync(userDataDir, { recursive: true, force: true });
      }
    },
  };
  open.add(browser);
  return browser;
}

/**
 * Record every request a page makes: [{t (ms since recording began), method, url, path, type}].
 * `apiRequests(list, since)` filters to same-origin /api/ requests from time `since`.
 */
export function recordRequests(page) {
  const t0 = Date.now();
  const list = [];
  page.on('request', (req) => {
    const url = new URL(req.url());
    list.push({
      t: Date.now() - t0,
      at: Date.now(),
      method: req.method(),
      url: req.url(),
      origin: url.origin,
      path: url.pathname,
      type: req.resourceType(),
    });
  });
  return list;
}

export function apiRequests(list, origin, sinceAt = 0) {
  return list.filter((r) => r.origin === origin && r.path.startsWith('/api/') && r.at >= sinceAt);
}

export const formatRequests = (list) =>
  list.length === 0
    ? '  (none)'
    : list.map((r) => `  +${(r.t / 1000).toFixed(2)}s ${r.method} ${r.path} [${r.type}]`).join('\n');

/**
 * Open the dashboard signed in: the link the daemon printed (`/#token=…`) for `#/`, else the
 * hash route with the token in it (`/#/projects/<id>?token=…`). Waits until the app has signed in
 * (the sign-in form is not shown, the top bar has "Sign out").
 */
export async function openSignedIn(page, daemon, hashRoute) {
  const url =
    hashRoute === '#/' || hashRoute === ''
      ? daemon.dashboardUrl
      : `${daemon.baseUrl}/${hashRoute}?token=${encodeURIComponent(daemon.token)}`;
  await page.goto(url);
  await page.locator('[data-testid=signout-button]').waitFor({ timeout: 15_000 });
}

export const statusPill = (page) => page.locator('[data-testid=status-pill]').first();

/** Wait until the (first) status pill's text is `status`; the error names the last text seen. */
export async function waitForPill(page, status, timeout = 15_000) {
  try {
    await page.waitForFunction(
      (want) => document.querySelector('[data-testid=status-pill]')?.textContent?.trim() === want,
      status,
      { timeout, polling: 100 },
    );
  } catch (err) {
    const text = await page
      .locator('[data-testid=status-pill]')
      .first()
      .textContent({ timeout: 1000 })
      .catch(() => '(no status pill)');
    throw new Error(`status pill did not show ${status} within ${timeout} ms (shows ${JSON.stringify(text)}): ${err.message}`);
  }
}

/** Wait until the project page's live mode (`live-mode` data-mode) is `mode` (default sse). */
export async function waitForLiveMode(page, mode = 'sse', timeout = 15_000) {
  try {
    await page.waitForFunction(
      (want) => document.querySelector('[data-testid=live-mode]')?.getAttribute('data-mode') === want,
      mode,
      { timeout, polling: 100 },
    );
  } catch (err) {
    const got = await page.locator('[data-testid=live-mode]').getAttribute('data-mode', { timeout: 1000 }).catch(() => null);
    throw new Error(`live-mode did not become ${mode} within ${timeout} ms (is ${got}): ${err.message}`);
  }
}

/** Wait until the preview iframe's document shows `text`; returns {src, text} of the frame. */
export async function waitForPreview(page, text = 'hello from sandbox', timeout = 15_000) {
  const iframe = page.locator('[data-testid=preview-iframe]');
  await iframe.waitFor({ timeout });
  const src = await iframe.getAttribute('src');
  const handle = await iframe.elementHandle();
  const frame = await handle.contentFrame();
  if (!frame) throw new Error('the preview iframe has no content frame');
  try {
    await frame.waitForFunction((want) => document.body?.innerText.includes(want), text, { timeout, polling: 100 });
  } catch (err) {
    const body = await frame.evaluate(() => document.body?.innerText ?? '').catch((e) => `(unreadable: ${e.message})`);
    throw new Error(`the preview iframe (src ${src}) does not show ${JSON.stringify(text)}; it shows ${JSON.stringify(body.slice(0, 300))}: ${err.message}`);
  }
  return { src, frame, text: await frame.evaluate(() => document.body.innerText) };
}
