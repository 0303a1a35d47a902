import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { freshPagePerTest, makeSandbox, setup, tick } from '../test-utils';

const NOW = '2025-01-01T01:00:00.000Z';

freshPagePerTest(NOW);

const sandboxes = [
  makeSandbox({
    projectId: 'b',
    status: 'RUNNING',
    pauseAt: '2025-01-01T01:02:00.000Z',
    runningSince: '2025-01-01T00:48:00.000Z',
    idleTimeoutSeconds: 600,
  }),
  makeSandbox({ projectId: 'c', status: 'PAUSED', pauseAt: null, runningSince: null, idleTimeoutSeconds: 60 }),
  makeSandbox({ projectId: 'a', status: 'KILLED', url: null, pauseAt: null, runningSince: null }),
  makeSandbox({
    projectId: 'd',
    status: 'RUNNING',
    pauseAt: '2025-01-01T01:01:00.000Z',
    runningSince: '2024-12-31T22:55:00.000Z',
    idleTimeoutSeconds: 120,
  }),
];

const order = () => screen.getAllByTestId(/^sandbox-row-/).map((r) => r.dataset['testid']!.slice('sandbox-row-'.length));
const sortOf = (key: string) => screen.getByTestId(`sort-${key}`).closest('th')!.getAttribute('aria-sort');

describe('sandbox list: sorting and uptime', () => {
  it('sorts by a column on click, reversed on the next, and says so in aria-sort', async () => {
    setup({ sandboxes });
    await tick();
    expect(order()).toEqual(['a', 'b', 'c', 'd']);
    expect(sortOf('project')).toBe('ascending');
    expect(sortOf('status')).toBe('none');

    fireEvent.click(screen.getByTestId('sort-project'));
    expect(order()).toEqual(['d', 'c', 'b', 'a']);
    expect(sortOf('project')).toBe('descending');

    fireEvent.click(screen.getByTestId('sort-status'));
    expect(order()).toEqual(['b', 'd', 'c', 'a']);
    expect(sortOf('status')).toBe('ascending');
    expect(sortOf('project')).toBe('none');

    fireEvent.click(screen.getByTestId('sort-pausesIn'));
    expect(order()).toEqual(['d', 'b', 'a', 'c']);
    fireEvent.click(screen.getByTestId('sort-uptime'));
    expect(order()).toEqual(['b', 'd', 'a', 'c']);
    fireEvent.click(screen.getByTestId('sort-uptime'));
    expect(order()).toEqual(['d', 'b', 'a', 'c']);
    expect(sortOf('uptime')).toBe('descending');
    fireEvent.click(screen.getByTestId('sort-idleTimeout'));
    expect(order()).toEqual(['c', 'd', 'a', 'b']);
  });

  it('keeps the order when the list refreshes and narrows with the filters', async () => {
    const { server } = setup({ sandboxes });
    await tick();
    fireEvent.click(screen.getByTestId('sort-project'));
    server.change('e', { status: 'RUNNING', runningSince: NOW });
    await tick(30_000);
    expect(order()).toEqual(['e', 'd', 'c', 'b', 'a']);
    fireEvent.click(screen.getByTestId('hide-killed'));
    expect(order()).toEqual(['e', 'd', 'c', 'b']);
  });

  it('names the busy holds that keep a sandbox awake until they expire', async () => {
    const held = [
      makeSandbox({
        projectId: 'h',
        status: 'RUNNING',
        pauseAt: '2025-01-01T01:10:00.000Z',
        holds: [
          { name: 'build', expiresAt: '2025-01-01T01:10:00.000Z' },
          { name: 'ci', expiresAt: '2025-01-01T01:00:30.000Z' },
        ],
      }),
      makeSandbox({ projectId: 'p', status: 'PAUSED', pauseAt: null, holds: [] }),
    ];
    setup({ sandboxes: held });
    await tick();
    const badge = within(screen.getByTestId('sandbox-row-h')).getByTestId('holds');
    expect(badge.textContent).toBe('held: build, ci');
    expect(badge.title).toContain('build until ');
    expect(within(screen.getByTestId('sandbox-row-p')).queryByTestId('holds')).toBeNull();
    await tick(60_000); // "ci" has expired
    expect(within(screen.getByTestId('sandbox-row-h')).getByTestId('holds').textContent).toBe('held: build');
  });

  it('shows how long each sandbox has been up, and a dash when it is not running', async () => {
    setup({ sandboxes });
    await tick();
    const uptime = (id: string) => within(screen.getByTestId(`sandbox-row-${id}`)).getByTestId('uptime');
    expect(uptime('b').textContent).toBe('12 min');
    expect(uptime('b').title).toMatch(/^Running since /);
    expect(uptime('d').textContent).toBe('2 h 5 min');
    expect(uptime('c').textContent).toBe('—');
    expect(uptime('a').textContent).toBe('—');
    expect(uptime('b').className).toContain('wide-only');
    await tick(60_000);
    expect(uptime('b').textContent).toBe('13 min');
  });
});
