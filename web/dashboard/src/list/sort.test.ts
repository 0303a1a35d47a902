import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../../../client/src/test-utils';
import { DEFAULT_ORDER, ariaSort, nextOrder, sortSandboxes, type SortKey } from './sort';

const rows = [
  makeSandbox({
    projectId: 'b',
    status: 'PAUSED',
    pauseAt: null,
    runningSince: null,
    template: 'node',
    idleTimeoutSeconds: 60,
    lastActivityAt: '2025-01-01T00:00:10.000Z',
  }),
  makeSandbox({
    projectId: 'c',
    status: 'RUNNING',
    pauseAt: '2025-01-01T00:03:00.000Z',
    runningSince: '2025-01-01T00:00:00.000Z',
    template: 'hello',
    idleTimeoutSeconds: 600,
    lastActivityAt: '2025-01-01T00:00:30.000Z',
  }),
  makeSandbox({
    projectId: 'a',
    status: 'KILLED',
    pauseAt: null,
    runningSince: null,
    template: 'hello',
    idleTimeoutSeconds: 180,
    lastActivityAt: '2025-01-01T00:00:20.000Z',
  }),
  makeSandbox({
    projectId: 'd',
    status: 'RUNNING',
    pauseAt: '2025-01-01T00:01:00.000Z',
    runningSince: '2025-01-01T00:00:40.000Z',
    template: 'python',
    idleTimeoutSeconds: 60,
    lastActivityAt: '2025-01-01T00:00:40.000Z',
  }),
];

const ids = (key: SortKey, descending = false) =>
  sortSandboxes(rows, { key, descending }).map((s) => s.projectId);

describe('sortSandboxes', () => {
  it('sorts by project id, and reversed', () => {
    expect(ids('project')).toEqual(['a', 'b', 'c', 'd']);
    expect(ids('project', true)).toEqual(['d', 'c', 'b', 'a']);
  });

  it('sorts statuses in lifecycle order, ties by project id', () => {
    expect(ids('status')).toEqual(['c', 'd', 'b', 'a']);
    expect(ids('status', true)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('puts rows without a value last in both directions', () => {
    expect(ids('pausesIn')).toEqual(['d', 'c', 'a', 'b']);
    expect(ids('pausesIn', true)).toEqual(['c', 'd', 'a', 'b']);
    // Shortest uptime first: d started running 40 s after c.
    expect(ids('uptime')).toEqual(['d', 'c', 'a', 'b']);
    expect(ids('uptime', true)).toEqual(['c', 'd', 'a', 'b']);
  });

  it('sorts templates, idle timeouts and last activity (most recent first)', () => {
    expect(ids('template')).toEqual(['a', 'c', 'b', 'd']);
    expect(ids('idleTimeout')).toEqual(['b', 'd', 'a', 'c']);
    expect(ids('lastActivity')).toEqual(['d', 'c', 'a', 'b']);
    expect(ids('lastActivity', true)).toEqual(['b', 'a', 'c', 'd']);
  });

  it('leaves its input alone', () => {
    const before = rows.map((s) => s.projectId);
    sortSandboxes(rows, { key: 'project', descending: true });
    expect(rows.map((s) => s.projectId)).toEqual(before);
  });
});

describe('nextOrder and ariaSort', () => {
  it('sorts a new column ascending and reverses the sorted one', () => {
    const byStatus = nextOrder(DEFAULT_ORDER, 'status');
    expect(byStatus).toEqual({ key: 'status', descending: false });
    expect(nextOrder(byStatus, 'status')).toEqual({ key: 'status', descending: true });
    expect(nextOrder(nextOrder(byStatus, 'status'), 'status')).toEqual({ key: 'status', descending: false });
    expect(nextOrder(DEFAULT_ORDER, 'project')).toEqual({ key: 'project', descending: true });
  });

  it('names the sorted column only', () => {
    expect(ariaSort(DEFAULT_ORDER, 'project')).toBe('ascending');
    expect(ariaSort({ key: 'project', descending: true }, 'project')).toBe('descending');
    expect(ariaSort(DEFAULT_ORDER, 'status')).toBe('none');
  });
});
