// 8. The pause warning: with presence off (an open page does not keep the sandbox awake), the
//    project page shows "Pausing in … — Keep awake" when the server's `pause_pending` arrives
//    (--pause-warning 4s before the 8 s idle pause). Keep awake records activity, which moves
//    pauseAt and ends the warning; without it the sandbox pauses and the banner goes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSandbox, getHistory, getSandbox, waitForSandbox } from './sandboxd.mjs';
import { startAll, stopAll, openSignedIn, waitForLiveMode, waitForPill } from './browser.mjs';

let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({
    portRange: '45800-45899',
    name: '08-pause-warning',
    idleTimeout: '8s',
    extraArgs: ['--presence=false', '--pause-warning', '4s'],
  });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('the warning banner appears before an idle pause and Keep awake postpones it', async () => {
  await createSandbox(daemon, 'p1', 8);
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/projects/p1');
  await waitForPill(page, 'RUNNING');
  await waitForLiveMode(page, 'sse');
  const banner = page.locator('[data-testid=pause-warning]');
  assert.equal(await banner.count(), 0, 'a warning right after create');

  // About 4 s after the create (8 s timeout - 4 s warning).
  await banner.waitFor({ state: 'visible', timeout: 10_000 });
  assert.match(await banner.innerText(), /Pausing in/);
  const before = await getSandbox(daemon, 'p1');
  assert.equal(before.status, 'RUNNING');
  await page.locator('[data-testid=keep-awake-button]').click();
  await banner.waitFor({ state: 'detached', timeout: 5_000 });
  const after = await getSandbox(daemon, 'p1');
  assert.equal(after.status, 'RUNNING');
  assert.ok(Date.parse(after.pauseAt) > Date.parse(before.pauseAt), 'Keep awake did not move pauseAt');
  const history = await getHistory(daemon, 'p1');
  assert.ok(!history.some((e) => e.type === 'pause_requested'), 'paused despite Keep awake');

  // Left alone: warned again, then paused; the banner gives way to the Paused panel.
  await banner.waitFor({ state: 'visible', timeout: 10_000 });
  await waitForSandbox(daemon, 'p1', (s) => s.status === 'PAUSED', {
    timeoutMs: 12_000,
    intervalMs: 100,
    what: 'PAUSED after the second warning',
  });
  await waitForPill(page, 'PAUSED');
  await banner.waitFor({ state: 'detached', timeout: 5_000 });
  await page.close();
});
