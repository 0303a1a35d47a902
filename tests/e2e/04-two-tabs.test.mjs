// 4. Two tabs on one project: the sandbox stays RUNNING while either is open and pauses one idle
//    timeout after the last one closes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IDLE_TIMEOUT_S,
  createSandbox,
  expectStatusFor,
  getHistory,
  waitForSandbox,
} from './sandboxd.mjs';
import { startAll, stopAll, openSignedIn, waitForLiveMode, waitForPill, waitForPreview } from './browser.mjs';

const IDLE_MS = IDLE_TIMEOUT_S * 1000;
let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '45300-45399', name: '04-two-tabs' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('two tabs: closing one keeps the sandbox RUNNING; closing the last pauses it one idle timeout later', async (t) => {
  await createSandbox(daemon, 'p1');
  const first = await browser.context.newPage();
  await openSignedIn(first, daemon, '#/projects/p1');
  // The second tab shares the context (and its session cookie): open it without the token.
  const second = await browser.context.newPage();
  await second.goto(`${daemon.baseUrl}/#/projects/p1`);
  for (const page of [first, second]) {
    await waitForPill(page, 'RUNNING');
    await waitForLiveMode(page, 'sse');
    await waitForPreview(page, 'hello from sandbox');
    assert.equal(await page.evaluate(() => document.visibilityState), 'visible', 'both tabs visible');
  }

  await first.close();
  // More than two idle timeouts with only the second tab open: RUNNING at every check.
  const samples = await expectStatusFor(daemon, 'p1', 'RUNNING', 2 * IDLE_MS + 1500, 250);
  t.diagnostic(`RUNNING at all ${samples} checks over ${2 * IDLE_MS + 1500} ms after the first tab closed`);
  await waitForLiveMode(second, 'sse');

  const closeStart = Date.now();
  await second.close();
  const closed = Date.now();
  const { at: pausedSeenAt } = await waitForSandbox(daemon, 'p1', (s) => s.status === 'PAUSED', {
    timeoutMs: IDLE_MS + 3000 + 2000,
    what: 'PAUSED after the last tab closed',
  });
  const events = await getHistory(daemon, 'p1');
  const pauses = events.filter((e) => e.type === 'pause_requested' && e.outcome === 'applied');
  assert.equal(pauses.length, 1, `exactly one pause: ${JSON.stringify(events)}`);
  const requestedAfter = Date.parse(pauses[0].at) - closeStart;
  const seenAfter = pausedSeenAt - closed;
  const diag = `last tab closed; pause_requested +${requestedAfter} ms, PAUSED seen +${seenAfter} ms`;
  t.diagnostic(diag);
  assert.ok(requestedAfter >= IDLE_MS - 100, `paused too early: ${diag}`);
  assert.ok(seenAfter <= IDLE_MS + 3000, `paused too late: ${diag}`);
});
