// 1. The project page shows RUNNING and the preview iframe loads the sandbox's app.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSandbox } from './sandboxd.mjs';
import { startAll, stopAll, openSignedIn, waitForLiveMode, waitForPill, waitForPreview } from './browser.mjs';

let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '45000-45099', name: '01-project-page' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('project page shows RUNNING and the preview iframe shows the sandbox app', async () => {
  const sandbox = await createSandbox(daemon, 'p1');
  assert.equal(sandbox.status, 'RUNNING', 'POST /sandbox answers RUNNING');
  // The preview gateway's URL: <the template's port>-<id>.<preview domain>.
  const expected = new RegExp(`^http://8080-${sandbox.sandboxId}\\.${daemon.previewDomain.replace('.', '\\.')}/$`);
  assert.match(sandbox.url, expected, 'sandbox url: the gateway, for the template\'s port');

  const page = await browser.context.newPage();
  await openSignedIn(page, daemon, '#/projects/p1');

  // Sign-in removed the token from the address bar and kept the hash route.
  const address = new URL(page.url());
  assert.equal(address.searchParams.has('token'), false, `token still in the address bar: ${page.url()}`);
  assert.ok(!page.url().includes(daemon.token), `token still in the address bar: ${page.url()}`);
  assert.equal(address.hash, '#/projects/p1');
  const cookies = await browser.context.cookies(daemon.baseUrl);
  assert.ok(cookies.length > 0, 'POST /api/session set a cookie');
  assert.ok(cookies.every((c) => c.httpOnly), `session cookie must be HttpOnly: ${JSON.stringify(cookies)}`);

  await waitForPill(page, 'RUNNING');
  await waitForLiveMode(page, 'sse');
  const preview = await waitForPreview(page, 'hello from sandbox');
  assert.equal(preview.src, sandbox.url, 'iframe src is the sandbox url');
  assert.ok(preview.text.includes(sandbox.sandboxId), `the app names its sandbox ${sandbox.sandboxId}: ${preview.text}`);
  await page.close();
});
