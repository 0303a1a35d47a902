// 6. Screenshots of the list page and the project page (tests/e2e/artifacts/, gitignored).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { createSandbox, paths } from './sandboxd.mjs';
import { startAll, stopAll, openSignedIn, waitForLiveMode, waitForPill, waitForPreview } from './browser.mjs';

let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '45500-45599', name: '06-screenshots' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function assertPng(file, minBytes = 20_000) {
  assert.ok(fs.existsSync(file), `${file} was not written`);
  const data = fs.readFileSync(file);
  assert.ok(data.subarray(0, 8).equals(PNG_SIGNATURE), `${file} is not a PNG`);
  assert.ok(data.length >= minBytes, `${file} is only ${data.length} bytes (expected ≥ ${minBytes})`);
  return data.length;
}

test('screenshots of the list page and the project page', async (t) => {
  fs.mkdirSync(paths.artifactsDir, { recursive: true });
  const listPng = path.join(paths.artifactsDir, 'list-page.png');
  const projectPng = path.join(paths.artifactsDir, 'project-page.png');
  fs.rmSync(listPng, { force: true });
  fs.rmSync(projectPng, { force: true });

  await createSandbox(daemon, 'p1');
  await createSandbox(daemon, 'p2');
  const page = await browser.context.newPage();

  // List page: both rows RUNNING.
  await openSignedIn(page, daemon, '#/');
  for (const id of ['p1', 'p2']) {
    await page.locator(`[data-testid=sandbox-row-${id}][data-status=RUNNING]`).waitFor({ timeout: 10_000 });
  }
  await page.screenshot({ path: listPng, fullPage: true });

  // Project page: RUNNING, live, preview loaded, history filled.
  await page.locator('[data-testid=sandbox-row-p1] a.project-link').click();
  await page.waitForURL(/#\/projects\/p1$/);
  await waitForPill(page, 'RUNNING');
  await waitForLiveMode(page, 'sse');
  await waitForPreview(page, 'hello from sandbox');
  await page.locator('[data-testid=history-row]').first().waitFor({ timeout: 10_000 });
  await page.screenshot({ path: projectPng, fullPage: true });

  const sizes = [assertPng(listPng), assertPng(projectPng)];
  t.diagnostic(`wrote ${listPng} (${sizes[0]} bytes) and ${projectPng} (${sizes[1]} bytes)`);
  await page.close();
});
