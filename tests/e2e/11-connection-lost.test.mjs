// 11. When sandboxd goes away, the project page says so ("Connection to sandboxd lost —
//     retrying") instead of showing the last status as if it were current. The sandbox is killed
//     first, so that nothing runs while the daemon is gone.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createSandbox, waitForStatus } from './sandboxd.mjs';
import { openSignedIn, startAll, stopAll, waitForLiveMode, waitForPill } from './browser.mjs';

let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '44900-44999', name: '11-connection-lost', idleTimeout: '1h' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('the project page says the connection is lost when sandboxd stops answering', async () => {
  await createSandbox(daemon, 'gone', 3600);
  assert.equal((await api(daemon, 'DELETE', '/api/projects/gone/sandbox')).status, 204);
  await waitForStatus(daemon, 'gone', 'KILLED', { timeoutMs: 10_000 });
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/projects/gone');
  await waitForPill(page, 'KILLED');
  await waitForLiveMode(page, 'sse');
  assert.equal(await page.locator('[data-testid=connection-lost]').count(), 0);

  const lostAt = Date.now();
  daemon.child.kill('SIGKILL');
  await daemon.exited;
  const banner = page.locator('[data-testid=connection-lost]');
  await banner.waitFor({ timeout: 15_000 });
  const after = Date.now() - lostAt;
  assert.match(await banner.innerText(), /Connection to sandboxd lost — retrying/);
  assert.ok(after >= 3_000, `the banner came ${after} ms after the daemon stopped: before the grace period`);
  await page.close();
});
