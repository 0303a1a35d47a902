// 7. Previews go through sandboxd's gateway. A PAUSED sandbox's preview opened in a tab shows the
//    gateway's "Waking up…" page, which turns into the app by itself (no reload by the test); from
//    the dashboard, Wake loads the preview at once, says "waking…", and then shows the app.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { appState, createSandbox, getHistory, getSandbox, waitForStatus } from './sandboxd.mjs';
import { openSignedIn, startAll, stopAll, waitForPill, waitForPreview } from './browser.mjs';

let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '45600-45699', name: '07-preview-waking' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

/** Every response of `page` (any frame) for the preview's origin: [{status, kind, url}]. */
function recordPreviewResponses(page, previewUrl) {
  const origin = new URL(previewUrl).origin;
  const list = [];
  page.on('response', (res) => {
    if (new URL(res.url()).origin !== origin) return;
    list.push({ status: res.status(), kind: res.headers()['x-sandboxd-preview'] ?? 'app', url: res.url() });
  });
  return list;
}

test('the preview URL of a PAUSED sandbox shows "Waking up…", then the app', async (t) => {
  const created = await createSandbox(daemon, 'tab');
  const before = await appState(created.url);
  await waitForStatus(daemon, 'tab', 'PAUSED', { timeoutMs: 10_000 });
  assert.match(created.url, new RegExp(`^http://\\d+-${created.sandboxId}\\.${daemon.previewDomain.replace('.', '\\.')}/$`));

  const page = await browser.context.newPage();
  const responses = recordPreviewResponses(page, created.url);
  // The waking page may reload into the app before its body could be read back from the
  // browser, so every document the tab shows notes its text in the tab's sessionStorage,
  // which outlives the reload. It does so once it is parsed, or, if the app answered the
  // page's own request first and it reloads before that (a slow renderer), as it goes.
  await page.addInitScript(() => {
    let noted = false;
    const note = () => {
      if (noted) return;
      noted = true;
      const seen = JSON.parse(sessionStorage.getItem('__documents') ?? '[]');
      seen.push(document.body?.innerText ?? '');
      sessionStorage.setItem('__documents', JSON.stringify(seen));
    };
    addEventListener('DOMContentLoaded', note);
    addEventListener('pagehide', note);
  });
  const openedAt = Date.now();
  const first = await page.goto(created.url);
  assert.equal(first.status(), 503, 'the first answer is the gateway\'s waking page');
  assert.equal(first.headers()['x-sandboxd-preview'], 'waking');
  assert.ok(first.headers()['retry-after'], 'Retry-After on the waking page');

  // The page waits for the app by itself and reloads into it.
  await page.waitForFunction(() => document.body?.innerText.includes('hello from sandbox'), null, { timeout: 20_000, polling: 100 });
  t.diagnostic(`app shown ${Date.now() - openedAt} ms after opening; responses: ${JSON.stringify(responses)}`);
  const documents = await page.evaluate(() => JSON.parse(sessionStorage.getItem('__documents') ?? '[]'));
  assert.match(documents[0] ?? '', /Waking up/, `documents shown: ${JSON.stringify(documents)}`);
  assert.equal((await getSandbox(daemon, 'tab')).status, 'RUNNING');
  const state = await appState(created.url);
  assert.equal(state.startedAt, before.startedAt, 'the app was restarted instead of resumed');
  const wakes = (await getHistory(daemon, 'tab')).filter((e) => e.type === 'wake_requested');
  assert.equal(wakes.length, 1, 'one wake');
  assert.equal(wakes[0].source, 'preview', 'woken by the preview request');
  await page.close();
});

test('the dashboard\'s preview of a PAUSED sandbox shows "waking…", then the app', async (t) => {
  const created = await createSandbox(daemon, 'dash');
  await waitForStatus(daemon, 'dash', 'PAUSED', { timeoutMs: 10_000 });

  const page = await browser.context.newPage();
  const responses = recordPreviewResponses(page, created.url);
  await openSignedIn(page, daemon, '#/projects/dash');
  await waitForPill(page, 'PAUSED');
  await page.locator('[data-testid=preview-panel][data-status=PAUSED]').waitFor({ timeout: 5_000 });
  assert.equal(await page.locator('[data-testid=preview-iframe]').count(), 0, 'no preview (and no wake) before Wake');
  assert.equal((await getSandbox(daemon, 'dash')).status, 'PAUSED', 'opening the page woke the sandbox');

  // Record whether the dashboard ever says "waking…" next to the preview (it may be brief).
  await page.evaluate(() => {
    window.__sawWaking = false;
    const seen = () => {
      if (document.querySelector('[data-testid=preview-waking]') && document.querySelector('[data-testid=preview-iframe]')) {
        window.__sawWaking = true;
      }
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const clickedAt = Date.now();
  await page.locator('[data-testid=wake-button]').click();
  const preview = await waitForPreview(page, 'hello from sandbox', 20_000);
  t.diagnostic(`app in the preview ${Date.now() - clickedAt} ms after Wake; preview responses: ${JSON.stringify(responses)}`);
  assert.equal(await page.evaluate(() => window.__sawWaking), true, 'the preview said "waking…" while the sandbox woke');
  assert.equal(preview.src, created.url);
  await waitForPill(page, 'RUNNING');
  assert.equal(await page.locator('[data-testid=preview-waking]').count(), 0, '"waking…" stays after the app answers');
  // Every gateway answer before the app was its waking page, never an error.
  const beforeApp = responses.slice(0, responses.findIndex((r) => r.kind === 'app'));
  assert.ok(beforeApp.every((r) => r.kind === 'waking'), `answers before the app: ${JSON.stringify(responses)}`);
  await page.close();
});
