import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { PolicyReport } from '@sandboxd/client';
import { freshPagePerTest, makePolicyReport, makeReplayResult, makeSandbox, setup, tick } from '../test-utils';

const TO = '2025-01-01T00:00:00.000Z';

/** The report of the brief's example: a week with idle pauses, regret wakes and a replay. */
function busy(since: string | null): PolicyReport {
  const hours = Number((since ?? '168h').replace(/h$/, ''));
  const to = Date.now();
  const from = new Date(to - hours * 3_600_000).toISOString();
  return makePolicyReport({
    from,
    to: new Date(to).toISOString(),
    coveredFrom: from,
    totals: {
      pauses: 40,
      idlePauses: 31,
      wakes: 28,
      regretWakes: 9,
      resumeWaits: 27,
      savedMinutes: 1840.5,
      resumeWaitMedianMs: 480,
      resumeWaitP95Ms: 2100,
    },
    projects: [
      { projectId: 'demo', pauses: 12, idlePauses: 10, wakes: 9, regretWakes: 5, resumeWaits: 9, savedMinutes: 210.2 },
      { projectId: 'a b', pauses: 3, idlePauses: 3, wakes: 2, regretWakes: 1, resumeWaits: 2, savedMinutes: 45 },
    ],
    projectCount: 6,
    policy: { default: 'adaptive', shadow: 'warmup' },
    replay: {
      episodes: 120,
      policies: [
        makeReplayResult('adaptive', {
          idlePauses: 31,
          regretWakes: 9,
          idleMinutes: 93,
          savedMinutes: 1840.5,
          timeoutChanges: 4,
        }),
        makeReplayResult('warmup', {
          idlePauses: 33,
          regretWakes: 6,
          idleMinutes: 102,
          preWakes: 8,
          preWakeHits: 5,
          preWakeMisses: 3,
        }),
      ],
      note: 'Replayed over the idle episodes history shows; shorter gaps are not seen.',
    },
  });
}

const value = (testId: string) => screen.getByTestId(testId).dataset['value'];
const text = (testId: string) => screen.getByTestId(testId).textContent;

freshPagePerTest(TO);

describe('policy page (#/policy)', () => {
  it('says the policies and what idle pausing did, in labelled numbers', async () => {
    const { server } = setup({ hash: '#/policy', policyReport: busy });
    await tick();
    expect(server.calls.at(-1)!.path).toBe('/api/policy/report?since=168h');
    expect(screen.getByTestId('since-168h').getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByTestId('policy').dataset['since']).toBe('168h');
    expect(text('policy-span')).toContain('the last 7 days');
    expect(text('policy-span')).toContain('within 10m of an idle pause');
    expect(text('policy-default')).toBe('adaptive');
    expect(text('policy-shadow')).toBe('warmup');

    const totals = screen.getByTestId('policy-totals');
    for (const label of ['Idle pauses', 'Regret wakes', 'Resume waits', 'Saved', 'Resume wait']) {
      expect(within(totals).getByText(label).tagName).toBe('DT');
    }
    expect(value('policy-idle-pauses')).toBe('31');
    expect(text('policy-pauses')).toBe('40');
    expect(value('policy-regret-wakes')).toBe('9');
    expect(text('policy-regret-share')).toBe('32 %');
    expect(text('policy-wakes')).toBe('28');
    expect(value('policy-resume-waits')).toBe('27');
    expect(value('policy-saved')).toBe('1840.5');
    expect(text('policy-saved')).toBe('31 h');
    expect(text('policy-resume-median')).toBe('480 ms');
    expect(text('policy-resume-p95')).toBe('2.1 s');
    expect(screen.queryByTestId('policy-empty')).toBeNull();
    expect(screen.queryByTestId('policy-truncated')).toBeNull();
  });

  it('lists the projects as served, each a link to its page', async () => {
    setup({ hash: '#/policy', policyReport: busy });
    await tick();
    const rows = screen.getAllByTestId('policy-project-row');
    expect(rows.map((r) => r.dataset['projectId'])).toEqual(['demo', 'a b']);
    const links = rows.map((r) => within(r).getByRole('link'));
    expect(links.map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['demo', '#/projects/demo'],
      ['a b', '#/projects/a%20b'],
    ]);
    const cells = within(rows[0]!).getAllByRole('cell');
    expect(cells.map((c) => c.textContent)).toEqual(['demo', '5', '9', '10', '9', '3.5 h']);
    expect(screen.getByTestId('policy-projects').textContent).toContain('The top 2 of 6 projects');
    expect(screen.getByRole('table', { name: 'Projects with the most regret wakes' })).toBeTruthy();
  });

  it('compares the replayed policies, a column each, with the note below', async () => {
    setup({ hash: '#/policy', policyReport: busy });
    await tick();
    const table = screen.getByRole('table', { name: 'Replayed over the same history' });
    const headers = within(table).getAllByRole('columnheader').map((h) => h.textContent);
    expect(headers).toEqual(['Metric', 'adaptive (default)', 'warmup (shadow)']);
    expect(value('replay-episodes')).toBe('120');
    const row = (metric: string) =>
      within(screen.getByTestId(`replay-row-${metric}`))
        .getAllByRole('cell')
        .map((c) => c.textContent);
    const regretRow = screen.getByTestId('replay-row-regretWakes');
    expect(within(regretRow).getByRole('rowheader').textContent).toBe('Regret wakes');
    expect(row('idlePauses')).toEqual(['31', '33']);
    expect(row('regretWakes')).toEqual(['9', '6']);
    expect(row('idleMinutes')).toEqual(['1.6 h', '1.7 h']);
    expect(row('savedMinutes')).toEqual(['31 h', '0 h']);
    expect(row('timeoutChanges')).toEqual(['4', '0']);
    expect(row('preWakes')).toEqual(['0', '8']);
    expect(row('preWakeHits')).toEqual(['0', '5']);
    expect(row('preWakeMisses')).toEqual(['0', '3']);
    expect(value('replay-warmup-idleMinutes')).toBe('102');
    expect(text('replay-note')).toBe('Replayed over the idle episodes history shows; shorter gaps are not seen.');
  });

  it('says when there is nothing to report, and when no shadow is set', async () => {
    setup({ hash: '#/policy' });
    await tick();
    expect(text('policy-empty')).toBe('Nothing to report for the last 7 days: no sandbox was paused or woken.');
    expect(text('policy-default')).toBe('fixed');
    expect(text('policy-no-shadow')).toContain('no shadow policy');
    expect(screen.queryByTestId('policy-totals')).toBeNull();
    expect(screen.queryByTestId('policy-projects')).toBeNull();
    expect(screen.queryByTestId('replay')).toBeNull();
  });

  it('shows an older server’s report without the policy line or the replay', async () => {
    setup({
      hash: '#/policy',
      policyReport: (since) => {
        const { policy: _policy, replay: _replay, ...old } = busy(since);
        return old;
      },
    });
    await tick();
    expect(value('policy-idle-pauses')).toBe('31');
    expect(screen.queryByTestId('policy-names')).toBeNull();
    expect(screen.queryByTestId('replay')).toBeNull();
  });

  it('asks for the span chosen, keeping the last one on screen until it has loaded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server } = setup({ hash: '#/policy', policyReport: busy });
    await tick();
    const fetch = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementation(async (input, init) => {
      if (String(input).includes('since=720h')) await gate;
      return fetch(input, init);
    });
    fireEvent.click(screen.getByTestId('since-720h'));
    await tick();
    expect(screen.getByTestId('since-720h').getAttribute('aria-pressed')).toBe('true');
    expect(screen.getByTestId('since-168h').getAttribute('aria-pressed')).toBe('false');
    // Still the week, and labelled as such.
    expect(screen.getByTestId('policy').dataset['since']).toBe('168h');
    expect(screen.getByText('Loading last 30 days…')).toBeTruthy();
    release();
    await tick();
    expect(server.calls.at(-1)!.path).toBe('/api/policy/report?since=720h');
    expect(screen.getByTestId('policy').dataset['since']).toBe('720h');
    expect(text('policy-span')).toContain('the last 30 days');
    expect(screen.queryByText('Loading last 30 days…')).toBeNull();

    fireEvent.click(screen.getByTestId('since-24h'));
    await tick();
    expect(server.calls.at(-1)!.path).toBe('/api/policy/report?since=24h');
    expect(screen.getByTestId('policy').dataset['since']).toBe('24h');
  });

  it('refreshes every minute in place, without a loading text', async () => {
    const { server } = setup({ hash: '#/policy', policyReport: busy });
    await tick();
    const base = server.count('GET', '/api/policy/report');
    await tick(60_000);
    expect(server.count('GET', '/api/policy/report')).toBe(base + 1);
    expect(screen.queryByText('Loading…')).toBeNull();
    expect(screen.queryByText(/Loading last/)).toBeNull();
    expect(value('policy-idle-pauses')).toBe('31');
  });

  it('says when older events are not counted', async () => {
    setup({ hash: '#/policy', policyReport: (since) => ({ ...busy(since), truncated: true, coveredFrom: TO }) });
    await tick();
    expect(text('policy-truncated')).toContain('Too many events in this span: nothing before');
    expect(screen.getByTestId('policy-truncated').querySelector('time')!.getAttribute('datetime')).toBe(TO);
  });

  it('is in the top bar, and says when the server cannot answer', async () => {
    const { server } = setup({ sandboxes: [makeSandbox()] });
    await tick();
    const link = screen.getByRole('link', { name: 'Policy' });
    expect(link.getAttribute('href')).toBe('#/policy');
    const fetch = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementation(async (input, init) =>
      String(input).startsWith('/api/policy/report')
        ? new Response(JSON.stringify({ error: { code: 'unavailable', message: 'store down' } }), { status: 503 })
        : fetch(input, init),
    );
    window.location.hash = '#/policy';
    await tick();
    expect(link.className).toBe('active');
    expect(screen.getByRole('alert').textContent).toBe(
      'Could not load the policy report: store down (503 unavailable)',
    );
    expect(screen.queryByTestId('policy')).toBeNull();
  });
});
