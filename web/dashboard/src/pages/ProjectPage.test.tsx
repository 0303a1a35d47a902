import { screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { Explanation } from '@sandboxd/client';
import { freshPagePerTest, makeSandbox, setup, tick } from '../test-utils';

freshPagePerTest();

/** An explanation of a sandbox the enforcer paused, its decision's record carrying `record`. */
function pausedByEnforcer(record: Record<string, unknown> | undefined): Explanation {
  return {
    projectId: 'p1',
    sandboxId: 'sbx-1',
    status: 'PAUSED',
    since: '2024-12-31T23:59:00.000Z',
    summary: 'Paused for idleness.',
    next: 'Wakes on the next request.',
    idleTimeoutSeconds: 600,
    lastActivityAt: '2024-12-31T23:58:54.000Z',
    pauseAt: null,
    awake: [],
    pauseAtSetBy: null,
    activity: {},
    cause: {
      type: 'sandbox.lifecycle.paused',
      source: 'enforcer',
      by: 'idle-enforcer',
      at: '2024-12-31T23:59:00.000Z',
      detail: 'idle',
      inputs: record === undefined ? {} : { now: '2024-12-31T23:59:00.000Z', record },
    },
    timeoutSetBy: null,
    failure: null,
  };
}

/** The project page of a PAUSED sandbox whose timeout is now 600 s, explained by `explanation`. */
async function renderPaused(explanation: Explanation) {
  const { server } = setup({
    hash: '#/projects/p1',
    sandboxes: [makeSandbox({ status: 'PAUSED', url: null, pauseAt: null, idleTimeoutSeconds: 600 })],
  });
  const serve = server.fetch.getMockImplementation()!;
  server.fetch.mockImplementation(async (input: string, init?: RequestInit) =>
    input.endsWith('/api/projects/p1/sandbox/explain')
      ? new Response(JSON.stringify(explanation), { status: 200, headers: { 'Content-Type': 'application/json' } })
      : serve(input, init),
  );
  await tick();
  await tick();
}

describe('project page (#/projects/:id)', () => {
  it('says the idle timeout the pause was decided with, not the current one', async () => {
    await renderPaused(pausedByEnforcer({ version: 9, status: 'RUNNING', idleTimeoutSeconds: 6 }));
    expect(screen.getByTestId('paused-because').textContent).toBe('It was paused after 6s without activity.');
  });

  it('names the hold whose expiry the pause waited for', async () => {
    await renderPaused(
      pausedByEnforcer({
        version: 9,
        status: 'RUNNING',
        idleTimeoutSeconds: 6,
        pauseAt: '2024-12-31T23:58:59.000Z',
        holds: { build: '2024-12-31T23:58:59.000Z' },
      }),
    );
    expect(screen.getByTestId('paused-because').textContent).toBe(
      'It was paused when the hold “build” expired, after 6s without activity.',
    );
  });

  it("falls back to the sandbox's idle timeout when the decision did not store one", async () => {
    await renderPaused(pausedByEnforcer(undefined));
    expect(screen.getByTestId('paused-because').textContent).toBe('It was paused after 10m without activity.');
  });
});
