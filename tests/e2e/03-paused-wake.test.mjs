// 3. A paused sandbox's page shows PAUSED, makes no polling requests while PAUSED (only its one
//    event stream), and the Wake button brings the preview back without reloading the page.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  appState,
  createSandbox,
  expectResponsive,
  getSandbox,
  sleep,
  waitForStatus,
} from './sandboxd.mjs';
import {
  apiRequests,
  formatRequests,
  openSignedIn,
  recordRequests,
  startAll,
  stopAll,
  waitForLiveMode,
  waitForPill,
  waitForPreview,
} from './browser.mjs';

const WATCH_MS = 10_000;
let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '45200-45299', name: '03-paused-wake' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('PAUSED page makes no polling requests; Wake shows the app again without a reload', async (t) => {
  const created = await createSandbox(daemon, 'p1');
  const stateBefore = await appState(created.url);
  // Nobody watches: the enforcer pauses it one idle timeout later.
  await waitForStatus(daemon, 'p1', 'PAUSED', { timeoutMs: 10_000 });

  const page = await browser.context.newPage();
  const requests = recordRequests(page);
  const mainNavigations = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) mainNavigations.push(frame.url());
  });

  await openSignedIn(page, daemon, '#/projects/p1');
  // Initial load complete = pill PAUSED, the event stream live, the history table filled.
  await waitForPill(page, 'PAUSED');
  await waitForLiveMode(page, 'sse');
  await expectResponsive(daemon, 'p1', 'while a page holds the PAUSED sandbox\'s event stream open');
  await page.locator('[data-testid=history-row]').first().waitFor({ timeout: 10_000 });
  await page.locator('[data-testid=preview-panel][data-status=PAUSED]').waitFor({ timeout: 5_000 });
  assert.equal(await page.locator('[data-testid=preview-iframe]').count(), 0, 'no iframe while PAUSED');
  const wakeButton = page.locator('[data-testid=wake-button]');
  assert.ok(await wakeButton.isEnabled(), 'wake-button enabled');

  await page.evaluate(() => {
    window.__e2eMarker = 'still-the-same-document';
  });
  const navigationsAtMarker = mainNavigations.length;
  const origin = daemon.baseUrl;

  // ~10 s while PAUSED: nothing at all to the API (no polling, no reconnect, no heartbeat).
  const windowStart = Date.now();
  await sleep(WATCH_MS);
  const during = apiRequests(requests, origin, windowStart);
  const all = apiRequests(requests, origin);
  t.diagnostic(`API requests of the page so far:\n${formatRequests(all)}`);
  assert.deepEqual(
    during.map((r) => `${r.method} ${r.path}`),
    [],
    `the page made API requests while PAUSED (${WATCH_MS} ms after its initial load):\n${formatRequests(during)}`,
  );
  const statusGets = all.filter((r) => r.method === 'GET' && r.path === '/api/projects/p1/sandbox');
  const streams = all.filter((r) => r.path === '/api/projects/p1/sandbox/events');
  assert.ok(statusGets.length <= 1, `GET /api/projects/p1/sandbox more than once (initial load):\n${formatRequests(all)}`);
  assert.equal(streams.length, 1, `expected exactly one event stream:\n${formatRequests(all)}`);
  assert.equal((await getSandbox(daemon, 'p1')).status, 'PAUSED', 'an open page does not wake a PAUSED sandbox');

  // Wake from the page.
  const wakeClickedAt = Date.now();
  await wakeButton.click();
  await waitForPill(page, 'RUNNING', 15_000);
  const preview = await waitForPreview(page, 'hello from sandbox');
  t.diagnostic(`RUNNING + preview ${Date.now() - wakeClickedAt} ms after the click`);

  assert.equal(await page.evaluate(() => window.__e2eMarker), 'still-the-same-document', 'the page was reloaded');
  assert.deepEqual(mainNavigations.slice(navigationsAtMarker), [], 'the main frame navigated after the click');
  assert.equal(preview.src, created.url);
  const wakes = apiRequests(requests, origin, wakeClickedAt).filter((r) => r.method === 'POST' && r.path === '/api/projects/p1/sandbox/wake');
  assert.equal(wakes.length, 1, `one POST …/wake:\n${formatRequests(apiRequests(requests, origin, wakeClickedAt))}`);

  // Resumed, not restarted: the app's process kept its start time (and its request counter).
  const afterWake = await appState(created.url);
  assert.equal(afterWake.startedAt, stateBefore.startedAt, 'the app was restarted instead of resumed');
  assert.ok(afterWake.requests > stateBefore.requests, `request counter went on: ${JSON.stringify({ stateBefore, afterWake })}`);
  await page.close();
});
