// 13. The dashboard as users expect it: the Overview page draws its charts (canvases) and says
//     their numbers in text that matches GET /api/overview (sandboxes by status now, creates in
//     the window, idle pauses), for the last hour and, toggled, the last 24 h; the list sorts by
//     its column headers (aria-sort) and shows uptime from `runningSince`; the Jobs page pages
//     back with "Older runs" and links the project a run paused; a KILLED project is forgotten
//     from its page (a confirmation choosing to remove its history), after which the list no
//     longer has it and its API GET is 404. A page left open on a project that is forgotten and
//     made again at once (versions start over) shows the new sandbox, and a page open on a project
//     without a sandbox shows one made for it elsewhere, both without a reload.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, createSandbox, getSandbox, paths, waitForStatus, sleep } from './sandboxd.mjs';
import { openSignedIn, startAll, stopAll, waitForPill } from './browser.mjs';

let env;
let daemon;
let browser;

const STATUSES = ['STARTING', 'RUNNING', 'PAUSING', 'PAUSED', 'KILLED'];

before(async () => {
  env = await startAll({ portRange: '46000-46099', name: '13-overview-jobs-forget', idleTimeout: '1h' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

/** GET that must answer 200; returns the body. */
async function get(path) {
  const res = await api(daemon, 'GET', path);
  assert.equal(res.status, 200, `GET ${path}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

const sum = (buckets, f) => buckets.reduce((n, b) => n + f(b), 0);

/** The project ids of the list's rows, top to bottom. */
const rowIds = (page) =>
  page.$$eval('[data-testid^="sandbox-row-"]', (rows) => rows.map((r) => r.dataset.testid.slice('sandbox-row-'.length)));

test('four sandboxes: running, paused on request, killed, paused by the idle enforcer', async () => {
  for (const id of ['ov-run', 'ov-pause', 'ov-kill']) await createSandbox(daemon, id, 3600);
  await createSandbox(daemon, 'ov-idle', 2);
  assert.equal((await api(daemon, 'POST', '/api/projects/ov-pause/sandbox/pause')).status, 202);
  assert.equal((await api(daemon, 'DELETE', '/api/projects/ov-kill/sandbox')).status, 204);
  await waitForStatus(daemon, 'ov-pause', 'PAUSED', { timeoutMs: 10_000 });
  await waitForStatus(daemon, 'ov-kill', 'KILLED', { timeoutMs: 10_000 });
  await waitForStatus(daemon, 'ov-idle', 'PAUSED', { timeoutMs: 15_000 });

  // runningSince: set while RUNNING, null once paused or killed.
  const running = await getSandbox(daemon, 'ov-run');
  assert.ok(running.runningSince, `runningSince of a RUNNING sandbox: ${JSON.stringify(running.runningSince)}`);
  assert.ok(Date.parse(running.runningSince) <= Date.now());
  for (const id of ['ov-pause', 'ov-kill', 'ov-idle']) {
    const s = await getSandbox(daemon, id);
    assert.equal(s.runningSince, null, `runningSince of ${id} (${s.status})`);
  }
});

test('the overview API answers as documented', async () => {
  const hour = await get('/api/overview');
  assert.equal(hour.window, '1h');
  assert.equal(hour.bucketSeconds, 60);
  assert.equal(hour.buckets.length, 60);
  assert.equal(hour.buckets.at(-1).end, hour.to, 'the last bucket ends at "to"');
  assert.equal(hour.truncated, false);
  assert.equal(hour.coveredFrom, hour.from);
  assert.deepEqual(hour.current, { STARTING: 0, RUNNING: 1, PAUSING: 0, PAUSED: 2, KILLED: 1 });
  assert.deepEqual(hour.buckets.at(-1).statuses, hour.current);
  assert.ok(sum(hour.buckets, (b) => b.creates) >= 4, `creates: ${sum(hour.buckets, (b) => b.creates)}`);
  assert.ok(sum(hour.buckets, (b) => b.pauses) >= 2, `pauses: ${sum(hour.buckets, (b) => b.pauses)}`);
  assert.ok(sum(hour.buckets, (b) => b.kills) >= 1, `kills: ${sum(hour.buckets, (b) => b.kills)}`);
  const late = hour.buckets.filter((b) => b.lateness.count > 0);
  assert.ok(late.length >= 1, 'no bucket has the idle pause of ov-idle in its lateness');
  for (const b of late) assert.ok(b.lateness.maxMs >= b.lateness.medianMs, JSON.stringify(b.lateness));
  assert.ok(hour.savings.idlePauses >= 1, JSON.stringify(hour.savings));
  assert.ok(hour.savings.runningHours > 0, JSON.stringify(hour.savings));
  assert.ok(hour.savings.withoutIdlePausesHours >= hour.savings.runningHours, JSON.stringify(hour.savings));
  for (const key of ['applied', 'duplicate', 'stale', 'ignored', 'orphan', 'rejected']) {
    assert.equal(typeof hour.buckets[0].webhooks[key], 'number', `webhooks.${key}`);
  }

  const day = await get('/api/overview?window=24h');
  assert.equal(day.window, '24h');
  assert.equal(day.bucketSeconds, 900);
  assert.equal(day.buckets.length, 96);

  const bad = await api(daemon, 'GET', '/api/overview?window=7d');
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.equal(bad.body?.error?.code, 'invalid_argument');
});

test('the Overview page draws its charts and says the same numbers', async () => {
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/overview');
  const overview = page.locator('[data-testid=overview][data-window="1h"]');
  await overview.waitFor({ timeout: 10_000 });
  for (const id of ['chart-statuses', 'chart-transitions', 'chart-webhooks', 'chart-lateness']) {
    await page.locator(`[data-testid=${id}] canvas`).first().waitFor({ timeout: 5_000 });
  }
  const answer = await get('/api/overview');
  const value = async (testId) => Number(await page.locator(`[data-testid=${testId}]`).getAttribute('data-value'));
  for (const s of STATUSES) assert.equal(await value(`current-${s}`), answer.current[s], `current ${s}`);
  assert.equal(await value('current-RUNNING'), 1);
  const creates = await value('total-creates');
  assert.ok(creates >= 4, `creates shown: ${creates}`);
  assert.equal(creates, sum(answer.buckets, (b) => b.creates));
  assert.equal(await value('lateness-count'), sum(answer.buckets, (b) => b.lateness.count));
  assert.equal(await value('savings-pauses'), answer.savings.idlePauses);
  assert.match(await page.locator('[data-testid=overview-span]').innerText(), /per minute/);
  assert.match(await page.locator('[data-testid=chart-transitions] h2').innerText(), /per minute$/);
  await page.screenshot({ path: path.join(paths.artifactsDir, '13-overview.png'), fullPage: true });

  await page.locator('[data-testid=window-24h]').click();
  await page.locator('[data-testid=overview][data-window="24h"]').waitFor({ timeout: 10_000 });
  assert.match(await page.locator('[data-testid=overview-span]').innerText(), /per 15 min/);
  assert.equal(await page.locator('[data-testid=chart-statuses] canvas').count() >= 1, true);
  assert.equal(await value('current-RUNNING'), 1);
  await page.close();
});

test('the list sorts by its columns and shows uptime', async () => {
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/');
  await page.locator('[data-testid=sandbox-row-ov-run]').waitFor({ timeout: 10_000 });
  const header = (key) => page.locator(`th:has([data-testid=sort-${key}])`);
  assert.deepEqual(await rowIds(page), ['ov-idle', 'ov-kill', 'ov-pause', 'ov-run']);
  assert.equal(await header('project').getAttribute('aria-sort'), 'ascending');

  await page.locator('[data-testid=sort-project]').click();
  assert.deepEqual(await rowIds(page), ['ov-run', 'ov-pause', 'ov-kill', 'ov-idle']);
  assert.equal(await header('project').getAttribute('aria-sort'), 'descending');

  await page.locator('[data-testid=sort-status]').click();
  assert.deepEqual(await rowIds(page), ['ov-run', 'ov-idle', 'ov-pause', 'ov-kill']);
  assert.equal(await header('status').getAttribute('aria-sort'), 'ascending');
  assert.equal(await header('project').getAttribute('aria-sort'), 'none');
  await page.locator('[data-testid=sort-status]').click();
  // Reversed statuses; rows of one status stay in project order.
  assert.deepEqual(await rowIds(page), ['ov-kill', 'ov-idle', 'ov-pause', 'ov-run']);
  assert.equal(await header('status').getAttribute('aria-sort'), 'descending');

  const uptime = (id) => page.locator(`[data-testid=sandbox-row-${id}] [data-testid=uptime]`).innerText();
  assert.match(await uptime('ov-run'), /^\d+ (s|min)$/);
  for (const id of ['ov-pause', 'ov-kill', 'ov-idle']) assert.equal(await uptime(id), '—', `uptime of ${id}`);
  await page.close();
});

test('the Jobs page pages back and links the project a run paused', async () => {
  // The run that paused ov-idle, found through the API.
  const all = (await get('/api/jobs/idle-enforcer/runs?limit=1000')).runs;
  const pausing = all.find((r) => (r.pausedProjects ?? []).includes('ov-idle'));
  assert.ok(pausing, `no run has ov-idle in pausedProjects: ${JSON.stringify(all.filter((r) => r.paused > 0))}`);
  for (const r of all) assert.ok(Array.isArray(r.pausedProjects), `run ${r.id} without pausedProjects`);

  // Paging: nextBefore is the last id of a full page, and reads on from it.
  const first = await get('/api/jobs/idle-enforcer/runs?limit=2');
  assert.equal(first.runs.length, 2);
  assert.equal(first.nextBefore, first.runs[1].id);
  const second = await get(`/api/jobs/idle-enforcer/runs?limit=2&before=${first.nextBefore}`);
  assert.ok(second.runs.length >= 1 && second.runs.every((r) => r.id < first.nextBefore), JSON.stringify(second));
  const last = await get(`/api/jobs/idle-enforcer/runs?limit=1000&before=${all.at(-1).id}`);
  assert.deepEqual(last, { runs: [], nextBefore: null });

  // More than a page of runs (a sweep is recorded every second) for "Older runs".
  const deadline = Date.now() + 60_000;
  while ((await get('/api/jobs/idle-enforcer/runs?limit=51')).runs.length < 51) {
    assert.ok(Date.now() < deadline, 'fewer than 51 enforcer runs after 60 s');
    await sleep(1_000);
  }

  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/jobs');
  const rows = page.locator('[data-testid=run-row]');
  await rows.first().waitFor({ timeout: 10_000 });
  assert.equal(await rows.count(), 50);
  const fiftieth = Number(await rows.nth(49).getAttribute('data-run-id'));
  await page.locator('[data-testid=runs-older]').click();
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=run-row]').length > 50, null, { timeout: 5_000 });
  const next = Number(await rows.nth(50).getAttribute('data-run-id'));
  assert.ok(next < fiftieth, `run ${next} after run ${fiftieth}`);

  // The run that paused ov-idle: its row links the project (read further back if need be).
  const row = page.locator(`[data-testid=run-row][data-run-id="${pausing.id}"]`);
  for (let i = 0; i < 20 && (await row.count()) === 0; i++) {
    const older = page.locator('[data-testid=runs-older]');
    assert.equal(await older.count(), 1, `run ${pausing.id} not shown and no Older runs`);
    const before = await rows.count();
    await older.click();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=run-row]').length > n, before, { timeout: 5_000 });
  }
  const link = row.locator('[data-testid=run-paused-projects] a', { hasText: 'ov-idle' });
  assert.equal(await link.getAttribute('href'), '#/projects/ov-idle');
  assert.equal(await row.locator('[data-testid=run-errors]').innerText(), '—');
  await link.click();
  await page.waitForFunction(() => location.hash === '#/projects/ov-idle', null, { timeout: 5_000 });
  await waitForPill(page, 'PAUSED');
  await page.close();
});

test('a KILLED project is forgotten from its page, with its history', async () => {
  // The API refuses what is not KILLED, and what has no record.
  const live = await api(daemon, 'DELETE', '/api/projects/ov-run');
  assert.equal(live.status, 409, JSON.stringify(live.body));
  assert.equal(live.body?.error?.code, 'failed_precondition');
  assert.equal((await api(daemon, 'DELETE', '/api/projects/no-such-project')).status, 404);

  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/projects/ov-kill');
  await waitForPill(page, 'KILLED');
  await page.locator('[data-testid=forget-button]').click();
  const confirm = page.locator('[data-testid=forget-confirm-button]');
  assert.equal(await confirm.isDisabled(), true, 'Forget confirmable before keep/remove was chosen');
  assert.equal((await getSandbox(daemon, 'ov-kill')).status, 'KILLED');
  await page.locator('[data-testid=forget-remove-history]').check();
  const answer = page.waitForResponse((r) => r.request().method() === 'DELETE' && r.url().endsWith('/api/projects/ov-kill?history=remove'));
  await confirm.click();
  const res = await answer;
  assert.equal(res.status(), 200);
  const body = await res.json();
  assert.equal(body.projectId, 'ov-kill');
  assert.ok(body.historyRemoved > 0, `historyRemoved ${body.historyRemoved}`);

  // Back on the list, without it.
  await page.waitForFunction(() => location.hash === '#/', null, { timeout: 5_000 });
  await page.locator('[data-testid=sandbox-row-ov-run]').waitFor({ timeout: 10_000 });
  await page.locator('[data-testid=sandbox-row-ov-kill]').waitFor({ state: 'detached', timeout: 5_000 });
  assert.equal((await api(daemon, 'GET', '/api/projects/ov-kill/sandbox')).status, 404);
  const list = await get('/api/sandboxes');
  assert.deepEqual(list.sandboxes.map((s) => s.projectId).sort(), ['ov-idle', 'ov-pause', 'ov-run']);

  // Keeping the history removes no rows.
  assert.equal((await api(daemon, 'DELETE', '/api/projects/ov-pause/sandbox')).status, 204);
  await waitForStatus(daemon, 'ov-pause', 'KILLED', { timeoutMs: 10_000 });
  const kept = await api(daemon, 'DELETE', '/api/projects/ov-pause?history=keep');
  assert.equal(kept.status, 200, JSON.stringify(kept.body));
  assert.deepEqual(kept.body, { projectId: 'ov-pause', historyRemoved: 0 });
  assert.equal((await api(daemon, 'GET', '/api/projects/ov-pause/sandbox')).status, 404);
  await page.close();
});

test('a page open on a project forgotten and made again shows the new sandbox without a reload', async () => {
  await createSandbox(daemon, 'ov-again', 3600);
  await waitForStatus(daemon, 'ov-again', 'RUNNING', { timeoutMs: 15_000 });
  // Activity raises the first record's version well above what a new record starts at.
  for (let i = 0; i < 6; i++) {
    assert.equal((await api(daemon, 'POST', '/api/projects/ov-again/sandbox/activity')).status, 204);
  }
  assert.equal((await api(daemon, 'DELETE', '/api/projects/ov-again/sandbox')).status, 204);
  await waitForStatus(daemon, 'ov-again', 'KILLED', { timeoutMs: 10_000 });
  const old = await getSandbox(daemon, 'ov-again');

  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/projects/ov-again');
  await waitForPill(page, 'KILLED');
  await page.locator('code', { hasText: old.sandboxId }).first().waitFor({ timeout: 5_000 });

  // Forgotten and made again by another client, at once (before the browser's reconnect).
  assert.equal((await api(daemon, 'DELETE', '/api/projects/ov-again?history=keep')).status, 200);
  const made = await createSandbox(daemon, 'ov-again', 3600);
  assert.ok(made.version < old.version, `new record version ${made.version}, old ${old.version}`);
  assert.notEqual(made.sandboxId, old.sandboxId);

  await waitForPill(page, 'RUNNING', 20_000);
  await page.locator('code', { hasText: made.sandboxId }).first().waitFor({ timeout: 5_000 });
  await page.close();
});

test('a page open on a project without a sandbox shows one made elsewhere', async () => {
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/projects/ov-later');
  await page.locator('[data-testid=status-pill]').waitFor({ state: 'detached', timeout: 5_000 });
  await page.getByText(/No sandbox/i).first().waitFor({ timeout: 10_000 });
  await sleep(3_000); // the page has settled on "no sandbox" (its stream refused, retried)
  const made = await createSandbox(daemon, 'ov-later', 3600);
  await waitForPill(page, 'RUNNING', 40_000);
  await page.locator('code', { hasText: made.sandboxId }).first().waitFor({ timeout: 5_000 });
  await page.close();
});
