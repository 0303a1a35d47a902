import { fireEvent, screen, within } from '@testing-library/react';
import { beforeEach, describe, expect, it } from 'vitest';
import type { OverviewWindow } from '@sandboxd/client';
import { FakeUPlot } from '../overview/testing/fake-uplot';
import { freshPagePerTest, makeOverview, makeSandbox, setup, tick } from '../test-utils';

const TO = '2025-01-01T00:00:00.000Z';

/** The server's answer now (fake time): each refresh moves the window. */
function overview(window: OverviewWindow) {
  return makeOverview({
    window,
    to: new Date().toISOString(),
    current: { RUNNING: 3, PAUSED: 5, KILLED: 2 },
    bucket: (i) => ({
      ...(i === 0 ? { creates: 4, kills: 1 } : {}),
      ...(i === 1 ? { pauses: 2, wakes: 1, webhooks: { applied: 6, duplicate: 1, stale: 0, ignored: 0, orphan: 0, rejected: 0 } } : {}),
      ...(i === 2 ? { lateness: { count: 2, medianMs: 120, maxMs: 480 } } : {}),
    }),
    savings: { runningHours: 1.5, withoutIdlePausesHours: 3.2, savedHours: 1.7, idlePauses: 4 },
  });
}

const value = (testId: string) => screen.getByTestId(testId).dataset['value'];

freshPagePerTest(TO);
beforeEach(() => {
  FakeUPlot.instances = [];
});

describe('overview page (#/overview)', () => {
  it('draws four charts and says their numbers in text', async () => {
    setup({ hash: '#/overview', overview });
    await tick();
    for (const id of ['chart-statuses', 'chart-transitions', 'chart-webhooks', 'chart-lateness']) {
      const card = screen.getByTestId(id);
      expect(card.querySelector('canvas'), id).not.toBeNull();
      expect(within(card).getByRole('img').getAttribute('aria-label')).toMatch(/the last hour/);
    }
    expect(FakeUPlot.instances).toHaveLength(4);
    expect(screen.getByTestId('overview').dataset['window']).toBe('1h');
    expect(screen.getByTestId('overview-span').textContent).toContain('per minute');
    expect(screen.getByTestId('chart-transitions').textContent).toContain('Creates, pauses, wakes and kills per minute');

    expect(value('current-RUNNING')).toBe('3');
    expect(value('current-PAUSED')).toBe('5');
    expect(value('current-KILLED')).toBe('2');
    expect(value('total-creates')).toBe('4');
    expect(value('total-pauses')).toBe('2');
    expect(value('total-wakes')).toBe('1');
    expect(value('total-kills')).toBe('1');
    expect(value('total-webhooks-applied')).toBe('6');
    expect(value('total-webhooks-duplicate')).toBe('1');
    expect(value('lateness-count')).toBe('2');
    expect(screen.getByTestId('lateness-worst').textContent).toBe('480 ms');
    expect(screen.getByTestId('savings-running').textContent).toBe('1.5 h');
    expect(screen.getByTestId('savings-without').textContent).toBe('3.2 h');
    expect(screen.getByTestId('savings-saved').textContent).toBe('1.7 h');
    expect(value('savings-pauses')).toBe('4');
    expect(screen.getByTestId('savings').textContent).toContain('(53 %)');
    expect(screen.queryByTestId('overview-truncated')).toBeNull();

    // The charts got the shaped data: 60 bucket ends, RUNNING second.
    const statuses = FakeUPlot.byFirstSeries('STARTING')!;
    expect(statuses.data[0]).toHaveLength(60);
    expect(statuses.data[2]![59]).toBe(3);
    expect(statuses.options.axes![1]!.label).toBe('sandboxes');
    const transitions = FakeUPlot.byFirstSeries('creates')!;
    expect(transitions.options.axes![1]!.label).toBe('per minute');
    expect(transitions.options.series[1]!.paths).toMatchObject({ path: 'stepped', align: 1 });
    expect(FakeUPlot.byFirstSeries('max')!.options.series[1]!.paths).toMatchObject({ path: 'bars' });
  });

  it('refreshes every 30 s in place: same charts, new data, no loading text', async () => {
    const { server } = setup({ hash: '#/overview', overview });
    await tick();
    const charts = [...FakeUPlot.instances];
    const base = server.count('GET', '/api/overview');
    await tick(30_000);
    expect(server.count('GET', '/api/overview')).toBe(base + 1);
    expect(FakeUPlot.instances).toEqual(charts);
    expect(charts.every((c) => !c.destroyed)).toBe(true);
    expect(charts.every((c) => c.updates.length === 1)).toBe(true);
    expect(charts[0]!.data[0]![59]).toBe(Date.parse(TO) / 1000 + 30);
    expect(screen.queryByText('Loading…')).toBeNull();
  });

  it('switches to 24 h, keeping the hour on screen until the day has loaded', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server } = setup({ hash: '#/overview', overview });
    await tick();
    const fetch = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementation(async (input, init) => {
      if (String(input).includes('window=24h')) await gate;
      return fetch(input, init);
    });
    fireEvent.click(screen.getByTestId('window-24h'));
    await tick();
    expect(screen.getByTestId('window-24h').getAttribute('aria-pressed')).toBe('true');
    // Still the hour, and labelled as such.
    expect(screen.getByTestId('overview').dataset['window']).toBe('1h');
    expect(screen.getByTestId('overview-span').textContent).toContain('per minute');
    expect(screen.getByText('Loading last 24 h…')).toBeTruthy();
    release();
    await tick();
    expect(screen.getByTestId('overview').dataset['window']).toBe('24h');
    expect(screen.getByTestId('overview-span').textContent).toContain('the last 24 hours, per 15 min');
    expect(screen.getByTestId('chart-webhooks').textContent).toContain('Webhook events per 15 min');
    expect(FakeUPlot.byFirstSeries('creates')!.options.axes![1]!.label).toBe('per 15 min');
    expect(FakeUPlot.byFirstSeries('STARTING')!.data[0]).toHaveLength(96);
  });

  it('says when older buckets lack their events', async () => {
    setup({ hash: '#/overview', overview: (window) => ({ ...overview(window), truncated: true }) });
    await tick();
    expect(screen.getByTestId('overview-truncated').textContent).toContain('Too many events');
  });

  it('is in the top bar, and says when the server cannot answer', async () => {
    const { server } = setup({ sandboxes: [makeSandbox()] });
    await tick();
    const link = screen.getByRole('link', { name: 'Overview' });
    expect(link.getAttribute('href')).toBe('#/overview');
    const fetch = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementation(async (input, init) =>
      String(input).startsWith('/api/overview')
        ? new Response(JSON.stringify({ error: { code: 'unavailable', message: 'store down' } }), { status: 503 })
        : fetch(input, init),
    );
    window.location.hash = '#/overview';
    await tick();
    expect(link.className).toBe('active');
    expect(screen.getByRole('alert').textContent).toBe('Could not load the overview: store down (503 unavailable)');
    expect(screen.queryByTestId('overview')).toBeNull();
  });
});
