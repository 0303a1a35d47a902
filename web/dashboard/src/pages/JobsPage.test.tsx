import { fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { freshPagePerTest, makeRun, setup, tick } from '../test-utils';

freshPagePerTest('2025-01-01T00:10:00.000Z');

// 60 runs, newest (60) first; run 60 paused two projects, run 59 failed once.
const runs = Array.from({ length: 60 }, (_, i) => {
  const id = 60 - i;
  return makeRun({
    id,
    paused: id === 60 ? 2 : 0,
    pausedProjects: id === 60 ? ['alpha', 'beta'] : [],
    failed: id === 59 ? 1 : 0,
    errors: id === 59 ? ['gamma: runc pause: exit 1'] : [],
  });
});

describe('jobs page (#/jobs)', () => {
  it('links the projects a run paused and shows its errors', async () => {
    setup({ hash: '#/jobs', runs });
    await tick();
    const [newest, second] = screen.getAllByTestId('run-row');
    expect(newest!.dataset['runId']).toBe('60');
    const links = within(within(newest!).getByTestId('run-paused-projects')).getAllByRole('link');
    expect(links.map((a) => [a.textContent, a.getAttribute('href')])).toEqual([
      ['alpha', '#/projects/alpha'],
      ['beta', '#/projects/beta'],
    ]);
    expect(within(second!).getByTestId('run-paused-projects').textContent).toBe('—');
    expect(within(second!).getByTestId('run-errors').textContent).toBe('gamma: runc pause: exit 1');
    expect(within(newest!).getByTestId('run-errors').textContent).toBe('—');
  });

  it('reads older runs a page at a time, until there are none', async () => {
    const { server } = setup({ hash: '#/jobs', runs });
    await tick();
    expect(screen.getAllByTestId('run-row')).toHaveLength(50);
    fireEvent.click(screen.getByTestId('runs-older'));
    await tick();
    const rows = screen.getAllByTestId('run-row');
    expect(rows).toHaveLength(60);
    expect(rows.at(-1)!.dataset['runId']).toBe('1');
    expect(server.calls.at(-1)!.path).toBe('/api/jobs/idle-enforcer/runs?limit=50&before=11');
    expect(screen.queryByTestId('runs-older')).toBeNull();
  });

  it('offers no older runs when the first page holds them all', async () => {
    setup({ hash: '#/jobs', runs: runs.slice(0, 3) });
    await tick();
    expect(screen.getAllByTestId('run-row')).toHaveLength(3);
    expect(screen.queryByTestId('runs-older')).toBeNull();
  });
});
