// 12. The list page on a 390 px phone screen: nothing runs off the side of the page or of the
//     table, and each row keeps its project, status and actions in view.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createSandbox } from './sandboxd.mjs';
import { openSignedIn, startAll, stopAll } from './browser.mjs';

let env;
let daemon;
let browser;

before(async () => {
  env = await startAll({ portRange: '44800-44899', name: '12-phone', idleTimeout: '1h' });
  ({ daemon, browser } = env);
});

after(() => stopAll(env));

test('the list fits a 390 px screen with its actions in reach', async (t) => {
  await createSandbox(daemon, 'a-rather-long-project-name', 3600);
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 390, height: 844 });
  await openSignedIn(page, daemon, '#/');
  const row = page.locator('[data-testid=sandbox-row-a-rather-long-project-name]');
  await row.waitFor({ timeout: 10_000 });
  await page.screenshot({ path: new URL('./artifacts/list-phone.png', import.meta.url).pathname });
  const widths = await page.evaluate(() => {
    const card = document.querySelector('[data-testid=sandbox-table]').parentElement;
    return { page: document.documentElement.scrollWidth, card: card.scrollWidth, cardVisible: card.clientWidth };
  });
  t.diagnostic(`widths at 390 px: ${JSON.stringify(widths)}`);
  assert.ok(widths.page <= 390, `the page is ${widths.page} px wide`);
  assert.ok(widths.card <= widths.cardVisible + 1, `the table needs ${widths.card} px of ${widths.cardVisible}`);
  for (const id of ['status-pill', 'wake-button', 'pause-button', 'kill-button']) {
    const box = await row.locator(`[data-testid=${id}]`).boundingBox();
    assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${id} out of view: ${JSON.stringify(box)}`);
  }
  await page.close();
});
