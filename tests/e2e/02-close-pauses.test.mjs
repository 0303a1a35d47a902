// 2. An open project page keeps the sandbox alive; closing it lets the sandbox pause one idle
//    timeout (3 s) later.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  IDLE_TIMEOUT_S,
  createSandbox,
  expectStatusFor,
  getHistory,
  waitForSandbox,
  watchLoopLag,
} from './sandboxd.mjs';
import { startAll, stopAll, openSignedIn, waitForLiveMode, waitForPill } from './browser.mjs';

const IDLE_MS = IDLE_TIMEOUT_S * 1000;
let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '45100-45199', name: '02-close-pauses' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('closing the project page pauses the sandbox one idle timeout later', async (t) => {
  await createSandbox(daemon, 'p1');
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/projects/p1');
  await waitForPill(page, 'RUNNING');
  await waitForLiveMode(page, 'sse');

  // Open for 6 s (two idle timeouts): still RUNNING at every check, and at the end.
  await expectStatusFor(daemon, 'p1', 'RUNNING', 2 * IDLE_MS, 250);

  const lag = watchLoopLag();
  const closeStart = Date.now();
  await page.close();
  const closed = Date.now();

  const {
    sandbox,
    at: pausedSeenAt,
    slowestPollMs,
  } = await waitForSandbox(daemon, 'p1', (s) => s.status === 'PAUSED', {
    timeoutMs: IDLE_MS + 3000 + 2000 + 10_000,
    intervalMs: 100,
    what: 'PAUSED after the page closed',
  });
  const seenAfter = pausedSeenAt - closed;
  // How long this very process was held up meanwhile: a stall of the whole machine, not of the
  // daemon's enforcer, and added to the slack below.
  const machineStallMs = lag();

  // When sandboxd decided to pause (history: the enforcer's pause_requested).
  const events = await getHistory(daemon, 'p1');
  const pauseRequested = events.find((e) => e.type === 'pause_requested' && e.outcome === 'applied');
  assert.ok(pauseRequested, `no pause_requested in the history: ${JSON.stringify(events)}`);
  const requestedAfter = Date.parse(pauseRequested.at) - closeStart;
  const diag =
    `page closed at ${new Date(closeStart).toISOString()}; pause_requested at ${pauseRequested.at} ` +
    `(+${requestedAfter} ms), PAUSED seen +${seenAfter} ms; lastActivityAt ${sandbox.lastActivityAt}; ` +
    `this process stalled ${machineStallMs} ms at worst, slowest status read ${slowestPollMs} ms; ` +
    `decision inputs ${JSON.stringify(pauseRequested.inputs)}`;

  // Not before one idle timeout after the last viewer left (the server records activity when the
  // last stream closes; 100 ms for millisecond truncation) …
  assert.ok(requestedAfter >= IDLE_MS - 100, `paused too early: ${diag}`);
  assert.ok(seenAfter >= IDLE_MS - 500, `PAUSED seen too early: ${diag}`);
  // … and within the idle timeout + 3 s slack (+ however long the machine itself stood still).
  assert.ok(seenAfter <= IDLE_MS + 3000 + machineStallMs, `paused too late: ${diag}\ndaemon log:\n${daemon.stderrTail()}`);
  if (seenAfter > IDLE_MS + 3000) t.diagnostic(`late only by the machine's stall: ${diag}`);
  assert.equal(events.filter((e) => e.type === 'pause_requested').length, 1, 'exactly one pause');
  t.diagnostic(diag);
});
