import { SANDBOX_STATUSES, type Sandbox } from '@sandboxd/client';

/** The list's sortable columns. */
export type SortKey =
  | 'project'
  | 'status'
  | 'pausesIn'
  | 'uptime'
  | 'template'
  | 'idleTimeout'
  | 'lastActivity';

export interface SortOrder {
  key: SortKey;
  descending: boolean;
}

/** The server's order: by project id. */
export const DEFAULT_ORDER: SortOrder = { key: 'project', descending: false };

/** Clicking a column sorts by it ascending; clicking the sorted column again reverses it. */
export function nextOrder(current: SortOrder, key: SortKey): SortOrder {
  return current.key === key ? { key, descending: !current.descending } : { key, descending: false };
}

/** The `aria-sort` of a column header. */
export function ariaSort(order: SortOrder, key: SortKey): 'ascending' | 'descending' | 'none' {
  if (order.key !== key) return 'none';
  return order.descending ? 'descending' : 'ascending';
}

const time = (iso: string | null | undefined): number | null => {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
};

/**
 * A row's value in a column, ascending as the column reads: statuses in lifecycle order, the
 * soonest pause first, the shortest uptime first, the most recent activity first. null: the
 * row has none (no pause due, not running), and sorts last either way.
 */
function value(s: Sandbox, key: SortKey): string | number | null {
  switch (key) {
    case 'project':
      return s.projectId;
    case 'status':
      return SANDBOX_STATUSES.indexOf(s.status);
    case 'pausesIn':
      return s.status === 'RUNNING' ? time(s.pauseAt) : null;
    case 'uptime': {
      const since = s.status === 'RUNNING' || s.status === 'PAUSING' ? time(s.runningSince) : null;
      return since === null ? null : -since;
    }
    case 'template':
      return s.template;
    case 'idleTimeout':
      return s.idleTimeoutSeconds;
    case 'lastActivity': {
      const at = time(s.lastActivityAt);
      return at === null ? null : -at;
    }
  }
}

function compare(a: string | number, b: string | number): number {
  if (a < b) return -1;
  return a > b ? 1 : 0;
}

/** The rows sorted by `order` (a new array); ties keep project id order. */
export function sortSandboxes(rows: readonly Sandbox[], order: SortOrder): Sandbox[] {
  const sign = order.descending ? -1 : 1;
  return [...rows].sort((x, y) => {
    const a = value(x, order.key);
    const b = value(y, order.key);
    if (a === null || b === null) {
      if (a !== b) return a === null ? 1 : -1;
    } else {
      const c = compare(a, b);
      if (c !== 0) return sign * c;
    }
    return compare(x.projectId, y.projectId);
  });
}
