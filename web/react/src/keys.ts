import type { OverviewWindow, SandboxListQuery } from '@sandboxd/client';

/** TanStack Query keys. The status key is the seed's `['sandbox', projectId]`. */
export const sandboxKeys = {
  /** Status of one project's sandbox (prefix of that project's other keys). */
  status: (projectId: string) => ['sandbox', projectId] as const,
  history: (projectId: string) => ['sandbox', projectId, 'history'] as const,
  explain: (projectId: string) => ['sandbox', projectId, 'explain'] as const,
  logs: (projectId: string) => ['sandbox', projectId, 'logs'] as const,
  /** Mutation key of a wake in flight (drives `isWaking`). */
  wake: (projectId: string) => ['sandbox', projectId, 'wake'] as const,
  lists: () => ['sandboxes'] as const,
  list: (query: SandboxListQuery = {}) => ['sandboxes', query] as const,
  enforcerRuns: (limit?: number) => ['jobs', 'idle-enforcer', 'runs', limit ?? null] as const,
  /** The runs read a page at a time (an infinite query). */
  enforcerRunPages: (limit?: number) => ['jobs', 'idle-enforcer', 'run-pages', limit ?? null] as const,
  /** Prefix of every window's overview. */
  overviews: () => ['overview'] as const,
  overview: (window: OverviewWindow) => ['overview', window] as const,
  /** Prefix of every span's policy report. */
  policyReports: () => ['policy-report'] as const,
  policyReport: (since: string) => ['policy-report', since] as const,
};
