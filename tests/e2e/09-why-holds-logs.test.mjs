// 9. The project page explains itself: the Why card names the hold that sets the pause time
//    (and the hold is listed), the Output panel shows the sandbox's output and follows new lines,
//    and once the idle enforcer pauses the sandbox the Why card says it did, by timer, with the
//    inputs it decided on. Presence is off so that the open page does not keep the sandbox awake.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, createSandbox, previewGet, waitForSandbox } from './sandboxd.mjs';
import { apiRequests, formatRequests, openSignedIn, recordRequests, startAll, stopAll, waitForPill } from './browser.mjs';

let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({
    portRange: '45900-45999',
    name: '09-why-holds-logs',
    idleTimeout: '6s',
    extraArgs: ['--presence=false'],
  });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('the Why card, the holds and the Output panel, then the idle pause explained', async (t) => {
  const created = await createSandbox(daemon, 'why', 6);
  const page = await browser.context.newPage();
  const requests = recordRequests(page);
  await openSignedIn(page, daemon, '#/projects/why');
  await waitForPill(page, 'RUNNING');
  await page.locator('[data-testid=why-summary]').waitFor({ timeout: 5_000 });
  assert.match(await page.locator('[data-testid=why-summary]').innerText(), /^RUNNING since .*: kept awake by/);

  // Activity moves the pause time (an API client's, here): the card follows it from the sandbox's
  // snapshots, without asking for the explanation again.
  const UNTIL = / until (\d{4}-\d\d-\d\dT[\d:.]+Z)\./;
  const firstSummary = await page.locator('[data-testid=why-summary]').innerText();
  const firstUntil = Date.parse(UNTIL.exec(firstSummary)?.[1] ?? '');
  assert.ok(Number.isFinite(firstUntil), firstSummary);
  const explainReads = () => requests.filter((r) => r.path === '/api/projects/why/sandbox/explain').length;
  const readsBefore = explainReads();
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.equal((await api(daemon, 'POST', '/api/projects/why/sandbox/activity')).status, 204);
  await page.waitForFunction(([first, pattern]) => {
    const m = new RegExp(pattern).exec(document.querySelector('[data-testid=why-summary]')?.textContent ?? '');
    return m !== null && Date.parse(m[1]) >= first + 1_500 && m.input.includes('kept awake by api activity');
  }, [firstUntil, UNTIL.source], { timeout: 3_000, polling: 100 }).catch(async (e) => {
    throw new Error(`${e.message}: the card still says "${await page.locator('[data-testid=why-summary]').innerText()}" (first: "${firstSummary}")`);
  });
  assert.equal(explainReads(), readsBefore, 'the explanation was fetched again for activity');

  // A hold: listed, and named as what sets the pause time.
  const placed = await api(daemon, 'POST', '/api/projects/why/sandbox/holds', { name: 'build', ttlSeconds: 30 });
  assert.equal(placed.status, 200, JSON.stringify(placed.body));
  await page.locator('[data-testid=hold-row][data-name=build]').waitFor({ timeout: 5_000 });
  const holdReason = page.locator('[data-testid=why-reason][data-kind=hold][data-sets-pause-at=true]');
  await holdReason.waitFor({ timeout: 5_000 });
  assert.match(await holdReason.innerText(), /hold "build".*sets the pause time/);
  assert.match(await page.locator('[data-testid=why-summary]').innerText(), /kept awake by the hold "build"/);
  // The list names it too.
  const list = await browser.context.newPage();
  await openSignedIn(list, daemon, '#/');
  const badge = list.locator('[data-testid=sandbox-row-why] [data-testid=holds]');
  await badge.waitFor({ timeout: 5_000 });
  assert.equal(await badge.innerText(), 'held: build');
  await list.close();

  // The Output panel: what the app wrote, then (following, over one stream) a line written after
  // it opened.
  const first = `first-${Date.now()}`;
  assert.equal((await previewGet(created.url, `/log?line=${first}`)).status, 204);
  await page.locator('[data-testid=logs-card] summary').click();
  const logs = page.locator('[data-testid=logs-text]');
  await page.waitForFunction((line) => document.querySelector('[data-testid=logs-text]')?.textContent.includes(line),
    first, { timeout: 5_000, polling: 100 });
  const second = `second-${Date.now()}`;
  assert.equal((await previewGet(created.url, `/log?line=${second}`)).status, 204);
  await page.waitForFunction((line) => document.querySelector('[data-testid=logs-text]')?.textContent.includes(line),
    second, { timeout: 5_000, polling: 100 });
  assert.ok((await logs.innerText()).indexOf(first) < (await logs.innerText()).indexOf(second), 'lines out of order');
  const logReads = apiRequests(requests, new URL(daemon.baseUrl).origin).filter((r) => r.path.endsWith('/logs'));
  assert.deepEqual(logReads.map((r) => r.type), ['eventsource'], `output reads:\n${formatRequests(logReads)}`);
  assert.match(logReads[0].url, /follow=1/);

  // Released: the hold goes from the page; then the enforcer pauses the idle sandbox.
  assert.equal((await api(daemon, 'DELETE', '/api/projects/why/sandbox/holds/build')).status, 204);
  await page.locator('[data-testid=hold-row]').waitFor({ state: 'detached', timeout: 5_000 });
  await page.locator('[data-testid=logs-follow]').uncheck();  // output reads are not activity, but keep the page quiet
  await waitForSandbox(daemon, 'why', (s) => s.status === 'PAUSED', { timeoutMs: 15_000, what: 'idle pause' });
  await waitForPill(page, 'PAUSED');
  const summary = page.locator('[data-testid=why-summary]');
  await page.waitForFunction(() => /^PAUSED since/.test(document.querySelector('[data-testid=why-summary]')?.textContent ?? ''),
    null, { timeout: 5_000, polling: 100 });
  const text = await summary.innerText();
  t.diagnostic(`why: ${text}`);
  assert.match(text, /paused by the idle enforcer \((timer|schedule)\), no activity since .* \(idle timeout 6 s\)/);
  await page.locator('[data-testid=why-cause] summary').click();
  const inputs = JSON.parse(await page.locator('[data-testid=why-inputs]').innerText());
  assert.equal(inputs.record.idleTimeoutSeconds, 6);
  assert.equal(inputs.record.status, 'RUNNING');
  assert.ok(inputs.replica, 'the deciding replica is named');
  assert.ok(Date.parse(inputs.now) >= Date.parse(inputs.record.pauseAt), 'paused before its pauseAt');
  assert.match(await page.locator('[data-testid=why-next]').innerText(), /stays PAUSED until a wake/);
  // The Paused panel says who paused it, truly.
  assert.equal(await page.locator('[data-testid=paused-because]').innerText(), 'It was paused after 6s without activity.');

  // The jobs page names what started each run (the pause above was the timer's or a sweep's).
  await page.goto(`${daemon.baseUrl}/#/jobs`);
  const pausingRun = page.locator('[data-testid=run-row]', {
    has: page.locator('[data-testid=run-trigger]', { hasText: /^(timer|schedule)$/ }),
  });
  await pausingRun.first().waitFor({ timeout: 5_000 });
  await page.close();
});
