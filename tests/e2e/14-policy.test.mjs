// 14. The idle-policy view (issue 15), with sandboxd on `--idle-policy adaptive --policy-shadow
//     warmup`: a new project runs on the deployment default (idlePolicy null, effective
//     adaptive) and an unknown policy name is refused; put on `fixed` with a 2 s idle timeout it
//     is paused by the idle enforcer and then woken at once through the API (a regret wake);
//     GET /api/policy/report counts both and replays adaptive beside warmup; the Policy page
//     (#/policy) says the same numbers, the replay table has a column per policy, the span
//     toggles, and the project links to its page; there the idle policy select PATCHes the
//     project's policy (warmup, then back to the deployment default).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, createSandbox, getHistory, getSandbox, paths, wakeSandbox, waitForStatus } from './sandboxd.mjs';
import { openSignedIn, startAll, stopAll, waitForPill } from './browser.mjs';

let env;
let daemon;
let browser;

const PROJECT = 'pol-a';
const SANDBOX_PATH = `/api/projects/${PROJECT}/sandbox`;
const REPLAY_FIELDS = [
  'idlePauses',
  'regretWakes',
  'resumeWaits',
  'idleMinutes',
  'savedMinutes',
  'timeoutChanges',
  'preWakes',
  'preWakeHits',
  'preWakeMisses',
];

before(async () => {
  env = await startAll({
    portRange: '46100-46199',
    name: '14-policy',
    idleTimeout: '1h',
    extraArgs: ['--idle-policy', 'adaptive', '--policy-shadow', 'warmup'],
  });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

/** GET that must answer 200; returns the body. */
async function get(urlPath) {
  const res = await api(daemon, 'GET', urlPath);
  assert.equal(res.status, 200, `GET ${urlPath}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** PATCH the project's sandbox settings; must answer 200 with the sandbox. */
async function patchSettings(body) {
  const res = await api(daemon, 'PATCH', SANDBOX_PATH, body);
  assert.equal(res.status, 200, `PATCH ${JSON.stringify(body)}: HTTP ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** Wait until the Sandbox card's idle policy reads `want`. */
const waitForShownPolicy = (page, want) =>
  page.waitForFunction((w) => document.querySelector('[data-testid=idle-policy]')?.textContent === w, want, {
    timeout: 5_000,
  });

/** A PATCH of the project's sandbox made by the page, and its answer. */
const patchFromPage = (page) =>
  page.waitForResponse((r) => r.request().method() === 'PATCH' && new URL(r.url()).pathname === SANDBOX_PATH);

test('a new project runs on the deployment default; an unknown policy is refused', async () => {
  const created = await createSandbox(daemon, PROJECT, 3600);
  assert.equal(created.idlePolicy, null, JSON.stringify(created));
  assert.equal(created.effectiveIdlePolicy, 'adaptive', JSON.stringify(created));

  const bad = await api(daemon, 'PATCH', SANDBOX_PATH, { idlePolicy: 'lazy' });
  assert.equal(bad.status, 400, JSON.stringify(bad.body));
  assert.equal(bad.body?.error?.code, 'invalid_argument');
  assert.equal((await getSandbox(daemon, PROJECT)).idlePolicy, null, 'a refused PATCH changed the policy');
});

test('paused by the idle enforcer, then woken at once: an idle pause and a regret wake', async () => {
  // On `fixed` the 2 s timeout is the one in force: adaptive keeps a project's timeout within
  // --idle-policy-min (1 min by default), which would make this test wait a minute.
  const fixed = await patchSettings({ idleTimeoutSeconds: 2, idlePolicy: 'fixed' });
  assert.equal(fixed.idleTimeoutSeconds, 2);
  assert.equal(fixed.idlePolicy, 'fixed');
  assert.equal(fixed.effectiveIdlePolicy, 'fixed');
  await waitForStatus(daemon, PROJECT, 'PAUSED', { timeoutMs: 20_000 });
  const events = await getHistory(daemon, PROJECT);
  assert.ok(
    events.some((e) => e.source === 'enforcer' && e.type === 'pause_requested'),
    `no pause by the enforcer in ${JSON.stringify(events.map((e) => `${e.type}/${e.source}`))}`,
  );

  // Woken well within the 10 min regret window; a long timeout keeps it up afterwards.
  await patchSettings({ idleTimeoutSeconds: 3600 });
  await wakeSandbox(daemon, PROJECT);
  await waitForStatus(daemon, PROJECT, 'RUNNING', { timeoutMs: 20_000 });
});

test('the policy report counts them and replays adaptive beside warmup', async () => {
  const report = await get('/api/policy/report?since=24h');
  assert.deepEqual(report.policy, { default: 'adaptive', shadow: 'warmup' });
  assert.equal(report.truncated, false);
  assert.ok(report.totals.idlePauses >= 1, `totals: ${JSON.stringify(report.totals)}`);
  assert.ok(report.totals.regretWakes >= 1, `totals: ${JSON.stringify(report.totals)}`);
  assert.ok(report.totals.resumeWaits >= 1, `totals: ${JSON.stringify(report.totals)}`);
  const row = report.projects.find((p) => p.projectId === PROJECT);
  assert.ok(row && row.regretWakes >= 1, `projects: ${JSON.stringify(report.projects)}`);

  assert.ok(report.replay, 'no replay although a shadow policy is configured');
  assert.deepEqual(report.replay.policies.map((p) => p.policy).sort(), ['adaptive', 'warmup']);
  assert.ok(report.replay.episodes >= 1, `replay: ${JSON.stringify(report.replay)}`);
  assert.equal(typeof report.replay.note, 'string');
  for (const p of report.replay.policies) {
    for (const field of REPLAY_FIELDS) assert.equal(typeof p[field], 'number', `${p.policy}.${field}`);
  }
});

test('the Policy page says the same numbers and compares the policies', async () => {
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/policy');
  // The page asks for the last 7 days first.
  await page.locator('[data-testid=policy][data-since="168h"]').waitFor({ timeout: 10_000 });
  const answer = await get('/api/policy/report?since=168h');
  const value = async (testId) => Number(await page.locator(`[data-testid=${testId}]`).getAttribute('data-value'));
  const text = (testId) => page.locator(`[data-testid=${testId}]`).innerText();

  assert.equal(await text('policy-default'), 'adaptive');
  assert.equal(await text('policy-shadow'), 'warmup');
  const idlePauses = await value('policy-idle-pauses');
  assert.ok(idlePauses >= 1, `idle pauses shown: ${idlePauses}`);
  assert.equal(idlePauses, answer.totals.idlePauses);
  const regretWakes = await value('policy-regret-wakes');
  assert.ok(regretWakes >= 1, `regret wakes shown: ${regretWakes}`);
  assert.equal(regretWakes, answer.totals.regretWakes);
  assert.match(await text('policy-regret-share'), /^\d+ %$/);
  assert.equal(await value('policy-resume-waits'), answer.totals.resumeWaits);
  assert.equal(await value('policy-saved'), answer.totals.savedMinutes);
  assert.equal(await page.locator('[data-testid=policy-empty]').count(), 0);

  // The replay: a column per policy, its numbers those of the API, the note below.
  const headers = await page.$$eval('[data-testid=replay] thead th', (ths) => ths.map((th) => th.textContent.trim()));
  assert.deepEqual(headers.slice(1).sort(), ['adaptive (default)', 'warmup (shadow)']);
  for (const policy of ['adaptive', 'warmup']) {
    const replayed = answer.replay.policies.find((p) => p.policy === policy);
    assert.equal(await value(`replay-${policy}-idlePauses`), replayed.idlePauses, `${policy} idle pauses`);
    assert.equal(await value(`replay-${policy}-regretWakes`), replayed.regretWakes, `${policy} regret wakes`);
  }
  assert.equal(await text('replay-note'), answer.replay.note);
  await page.screenshot({ path: path.join(paths.artifactsDir, '14-policy.png'), fullPage: true });

  // The last 24 h: asked for and shown once loaded.
  await page.locator('[data-testid=since-24h]').click();
  await page.locator('[data-testid=policy][data-since="24h"]').waitFor({ timeout: 10_000 });
  assert.equal(await page.locator('[data-testid=since-24h]').getAttribute('aria-pressed'), 'true');
  assert.ok((await value('policy-idle-pauses')) >= 1);

  // The project's row links its page.
  const link = page.locator(`[data-testid=policy-project-row][data-project-id="${PROJECT}"] a`);
  assert.equal(await link.getAttribute('href'), `#/projects/${PROJECT}`);
  await link.click();
  await page.waitForFunction((want) => location.hash === want, `#/projects/${PROJECT}`, { timeout: 5_000 });
  await waitForPill(page, 'RUNNING');
  await page.close();
});

test('the project page sets the idle policy, and goes back to the default', async () => {
  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, `#/projects/${PROJECT}`);
  await waitForPill(page, 'RUNNING');
  const select = page.locator('[data-testid=idle-policy-select]');
  const shown = page.locator('[data-testid=idle-policy]');
  assert.equal(await select.inputValue(), 'fixed');
  assert.equal(await shown.innerText(), 'fixed');

  let answer = patchFromPage(page);
  await select.selectOption('warmup');
  let res = await answer;
  assert.equal(res.status(), 200);
  assert.deepEqual(JSON.parse(res.request().postData()), { idlePolicy: 'warmup' });
  const warm = await getSandbox(daemon, PROJECT);
  assert.equal(warm.idlePolicy, 'warmup');
  assert.equal(warm.effectiveIdlePolicy, 'warmup');
  await waitForShownPolicy(page, 'warmup');

  answer = patchFromPage(page);
  await select.selectOption('default');
  res = await answer;
  assert.equal(res.status(), 200);
  assert.deepEqual(JSON.parse(res.request().postData()), { idlePolicy: null });
  const back = await getSandbox(daemon, PROJECT);
  assert.equal(back.idlePolicy, null);
  assert.equal(back.effectiveIdlePolicy, 'adaptive');
  await waitForShownPolicy(page, 'adaptive (default)');
  const label = await select.evaluate((el) => el.selectedOptions[0]?.textContent);
  assert.equal(label, 'Deployment default (adaptive)');
  await page.close();
});
