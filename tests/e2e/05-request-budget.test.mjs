// 5. Request budget: a project page open on a RUNNING sandbox for 60 s makes its one SSE request
//    and at most one other API request (no polling while the stream is live).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSandbox, expectResponsive, sleep } from './sandboxd.mjs';
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

const WATCH_MS = 60_000;
let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '45400-45499', name: '05-request-budget' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

function summarize(list) {
  const counts = new Map();
  for (const r of list) counts.set(`${r.method} ${r.path}`, (counts.get(`${r.method} ${r.path}`) ?? 0) + 1);
  return [...counts].map(([k, n]) => `  ${n} × ${k}`).join('\n');
}

test('one page on a RUNNING sandbox for 60 s: the SSE request plus at most one other API request', async (t) => {
  await createSandbox(daemon, 'p1');
  const page = await browser.context.newPage();
  const requests = recordRequests(page);
  await openSignedIn(page, daemon, '#/projects/p1');

  // Initial load complete = status pill RUNNING, the event stream live (data-mode sse), the preview
  // iframe showing the app and the history table filled. Counting starts there; the event stream
  // opened during the initial load, so it is looked up over the whole page life.
  await waitForPill(page, 'RUNNING');
  await waitForLiveMode(page, 'sse');
  await waitForPreview(page, 'hello from sandbox');
  await page.locator('[data-testid=history-row]').first().waitFor({ timeout: 10_000 });
  const origin = daemon.baseUrl;
  const initial = apiRequests(requests, origin);
  const windowStart = Date.now();

  await sleep(WATCH_MS);

  const { sandbox } = await expectResponsive(daemon, 'p1', 'after 60 s with one page open');
  const mode = await page.locator('[data-testid=live-mode]').getAttribute('data-mode');
  const during = apiRequests(requests, origin, windowStart);
  const all = apiRequests(requests, origin);
  const streams = all.filter((r) => r.method === 'GET' && r.path === '/api/projects/p1/sandbox/events');
  const others = during.filter((r) => r.path !== '/api/projects/p1/sandbox/events');
  const report =
    `initial load (${initial.length} API requests):\n${formatRequests(initial)}\n` +
    `during the ${WATCH_MS / 1000} s window (${during.length} API requests):\n` +
    (during.length ? `${summarize(during)}\n${formatRequests(during)}` : '  (none)');

  assert.equal(sandbox.status, 'RUNNING', 'the open page kept the sandbox RUNNING for 60 s');
  assert.equal(mode, 'sse', 'the page is still on its live event stream');
  assert.equal(streams.length, 1, `exactly one SSE request over the page's life (no reconnects):\n${report}`);
  assert.ok(others.length <= 1, `the page made ${others.length} API requests besides its event stream in ${WATCH_MS / 1000} s (budget: 1):\n${report}`);
  t.diagnostic(report);
  await page.close();
});
