// 10. Safe actions on the project page: Kill is never one click (it asks for the project id, and
//     Cancel leaves the sandbox running); the idle timeout is changed with a duration like the
//     CLI's ("2m"), and a text that is no duration changes nothing; Keep awake records activity.
//     Times read relative, with the absolute time and zone on hover; the history names each
//     row's sandbox. The list page searches, hides killed sandboxes, shows idle timeouts, and its
//     Kill asks through a confirm dialog.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createSandbox, getSandbox, sleep, waitForStatus } from './sandboxd.mjs';
import { openSignedIn, startAll, stopAll, waitForPill } from './browser.mjs';

let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '45700-45799', name: '10-safe-actions', idleTimeout: '1h' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('Kill asks for the project id; the idle timeout takes a duration; Keep awake', async () => {
  await createSandbox(daemon, 'safe', 3600);
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/projects/safe');
  await waitForPill(page, 'RUNNING');

  // Relative times with the absolute one on hover; the history's sandbox column.
  const lastActivity = page.locator('[data-testid=last-activity]');
  assert.match(await lastActivity.innerText(), /ago|just now/);
  assert.match(await lastActivity.getAttribute('title'), /\(.+\)$/, 'no time zone on hover');
  const created = await getSandbox(daemon, 'safe');
  await page.locator('[data-testid=history-row]').first().waitFor({ timeout: 5_000 });
  assert.match(await page.locator('[data-testid=history-table]').innerText(), new RegExp(created.sandboxId));

  // More than a page of history (each hold renewal is a row): Older events reads on.
  for (let i = 0; i < 105; i++) {
    const held = await api(daemon, 'POST', '/api/projects/safe/sandbox/holds', { name: 'paging', ttlSeconds: 60 });
    assert.equal(held.status, 200);
  }
  const total = (await api(daemon, 'GET', '/api/projects/safe/sandbox/history?limit=1000')).body.events.length;
  assert.ok(total > 100, `${total} events`);
  await page.reload();
  await waitForPill(page, 'RUNNING');
  const rows = page.locator('[data-testid=history-row]');
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=history-row]').length === 100, null, { timeout: 5_000 });
  await page.locator('[data-testid=history-older]').click();
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=history-row]').length === n, total, { timeout: 5_000 });
  assert.equal(await page.locator('[data-testid=history-older]').count(), 0, 'Older events after the oldest');
  assert.equal(await rows.count(), total);
  assert.equal((await api(daemon, 'DELETE', '/api/projects/safe/sandbox/holds/paging')).status, 204);

  // Idle timeout: "2m" is 120 s; "soon" is refused and changes nothing.
  await page.locator('[data-testid=idle-timeout-input]').fill('soon');
  await page.locator('[data-testid=idle-timeout-save]').click();
  await page.locator('[data-testid=idle-timeout-error]').waitFor({ timeout: 5_000 });
  assert.equal((await getSandbox(daemon, 'safe')).idleTimeoutSeconds, 3600);
  await page.locator('[data-testid=idle-timeout-input]').fill('2m');
  await page.locator('[data-testid=idle-timeout-save]').click();
  for (let i = 0; i < 50 && (await getSandbox(daemon, 'safe')).idleTimeoutSeconds !== 120; i++) await sleep(100);
  assert.equal((await getSandbox(daemon, 'safe')).idleTimeoutSeconds, 120);

  // Keep awake moves lastActivityAt.
  const before = await getSandbox(daemon, 'safe');
  await sleep(20);
  await page.locator('[data-testid=keep-awake-action]').click();
  for (let i = 0; i < 50 && (await getSandbox(daemon, 'safe')).lastActivityAt === before.lastActivityAt; i++) await sleep(100);
  assert.ok(Date.parse((await getSandbox(daemon, 'safe')).lastActivityAt) > Date.parse(before.lastActivityAt));

  // Paused on request, the Paused panel says so (not "because nobody used it"); Wake.
  await page.locator('[data-testid=pause-button]').click();
  await waitForPill(page, 'PAUSED');
  const because = page.locator('[data-testid=paused-because]');
  await because.waitFor({ timeout: 5_000 });
  assert.match(await because.innerText(), /paused on request/);
  await page.locator('[data-testid=wake-button]').click();
  await waitForPill(page, 'RUNNING');

  // Kill: one click only opens the confirmation; Cancel leaves it running.
  await page.locator('[data-testid=kill-button]').click();
  const confirm = page.locator('[data-testid=kill-confirm-button]');
  assert.equal(await confirm.isDisabled(), true);
  await page.locator('[data-testid=kill-cancel]').click();
  await sleep(300);
  assert.equal((await getSandbox(daemon, 'safe')).status, 'RUNNING');
  await page.locator('[data-testid=kill-button]').click();
  await page.locator('[data-testid=kill-confirm-input]').fill('saf');
  assert.equal(await confirm.isDisabled(), true);
  await page.locator('[data-testid=kill-confirm-input]').fill('safe');
  await confirm.click();
  await waitForStatus(daemon, 'safe', 'KILLED', { timeoutMs: 10_000 });
  await waitForPill(page, 'KILLED');
  await page.close();
});

test('the list page searches, hides killed sandboxes and asks before it kills', async () => {
  await createSandbox(daemon, 'listed', 3600);
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/');
  const row = page.locator('[data-testid=sandbox-row-listed]');
  await row.waitFor({ timeout: 10_000 });
  assert.equal(await row.locator('[data-testid=idle-timeout]').innerText(), '1h');
  // 'safe' was killed by the first test: search and "hide killed" narrow the rows.
  const killedRow = page.locator('[data-testid=sandbox-row-safe]');
  assert.equal(await killedRow.count(), 1);
  await page.locator('[data-testid=project-search]').fill('list');
  await killedRow.waitFor({ state: 'detached', timeout: 5_000 });
  assert.equal(await row.count(), 1);
  await page.locator('[data-testid=project-search]').fill('');
  await killedRow.waitFor({ timeout: 5_000 });
  await page.locator('[data-testid=hide-killed]').check();
  await killedRow.waitFor({ state: 'detached', timeout: 5_000 });
  assert.equal(await row.count(), 1);
  const answers = [false, true];
  const asked = [];
  page.on('dialog', async (dialog) => {
    asked.push(dialog.message());
    if (answers.shift()) await dialog.accept();
    else await dialog.dismiss();
  });
  await row.locator('[data-testid=kill-button]').click();
  await sleep(300);
  assert.equal((await getSandbox(daemon, 'listed')).status, 'RUNNING', 'killed although the dialog was dismissed');
  await row.locator('[data-testid=kill-button]').click();
  await waitForStatus(daemon, 'listed', 'KILLED', { timeoutMs: 10_000 });
  assert.equal(asked.length, 2);
  assert.match(asked[0], /Kill the sandbox of project listed\?/);
  await page.close();
});
