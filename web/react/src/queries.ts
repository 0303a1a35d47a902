import { keepPreviousData, useInfiniteQuery, useQuery, type InfiniteData } from '@tanstack/react-query';
import {
  pollingInterval,
  type EnforcerRun,
  type EnforcerRunsPage,
  type Explanation,
  type HistoryEvent,
  type Overview,
  type OverviewWindow,
  type PolicyReport,
  type Readiness,
  type SandboxListQuery,
  type SandboxListResponse,
} from '@sandboxd/client';
import { useSandboxClient } from './context.js';
import { sandboxKeys } from './keys.js';

/** How often a list of sandboxes is refreshed: the fastest schedule of its rows, at most 30 s. */
export function listInterval(list: SandboxListResponse | undefined, now = Date.now()): number {
  let interval = 30_000;
  for (const s of list?.sandboxes ?? []) {
    const i = pollingInterval(s.status);
    if (i !== null) interval = Math.min(interval, i);
    // A RUNNING sandbox past its pauseAt is about to pause: look again soon.
    if (s.status === 'RUNNING' && s.pauseAt && Date.parse(s.pauseAt) <= now) {
      interval = Math.min(interval, 5_000);
    }
  }
  return interval;
}

/**
 * GET /api/sandboxes. Polls (never streams, so a list page keeps no sandbox alive) on the fastest
 * schedule of its rows, capped at 30 s so new sandboxes show up.
 */
export function useSandboxList(query: SandboxListQuery = {}) {
  const client = useSandboxClient();
  return useQuery<SandboxListResponse, Error>({
    queryKey: sandboxKeys.list(query),
    queryFn: () => client.list(query),
    refetchInterval: (q) => listInterval(q.state.data),
  });
}

/** GET …/history (newest first). Refetched whenever the project's status query is invalidated. */
export function useSandboxHistory(projectId: string, options: { enabled?: boolean } = {}) {
  const client = useSandboxClient();
  return useQuery<HistoryEvent[], Error>({
    queryKey: sandboxKeys.history(projectId),
    queryFn: () => client.history(projectId),
    enabled: options.enabled ?? true,
  });
}

/**
 * GET …/explain: why the sandbox is in its status. Refetched when the
 * project's status query is invalidated or its key is (lifecycle changes).
 */
export function useSandboxExplanation(projectId: string, options: { enabled?: boolean } = {}) {
  const client = useSandboxClient();
  return useQuery<Explanation, Error>({
    queryKey: sandboxKeys.explain(projectId),
    queryFn: () => client.explain(projectId),
    enabled: options.enabled ?? true,
  });
}

/** GET /api/jobs/idle-enforcer/runs (refreshed every 30 s). */
export function useEnforcerRuns(limit?: number) {
  const client = useSandboxClient();
  return useQuery<EnforcerRun[], Error>({
    queryKey: sandboxKeys.enforcerRuns(limit),
    queryFn: () => client.enforcerRuns(limit),
    refetchInterval: 30_000,
  });
}

/**
 * The enforcer runs a page of `limit` at a time, newest first: `fetchNextPage()` reads the older
 * runs after the last one shown (`hasNextPage` while the server says there may be some). Every
 * 30 s the pages loaded so far are read again from the newest, so they stay one gapless list.
 */
export function useEnforcerRunPages(limit = 50) {
  const client = useSandboxClient();
  return useInfiniteQuery<
    EnforcerRunsPage,
    Error,
    InfiniteData<EnforcerRunsPage, number | null>,
    ReturnType<typeof sandboxKeys.enforcerRunPages>,
    number | null
  >({
    queryKey: sandboxKeys.enforcerRunPages(limit),
    queryFn: ({ pageParam }) =>
      client.enforcerRunsPage(pageParam === null ? { limit } : { limit, before: pageParam }),
    initialPageParam: null,
    getNextPageParam: (last) => last.nextBefore ?? undefined,
    refetchInterval: 30_000,
  });
}

/**
 * GET /api/overview for a window, refreshed every 30 s. While another window loads, the last
 * answer stays (`isPlaceholderData`): its own `window` field says which one it is.
 */
export function useOverview(window: OverviewWindow = '1h') {
  const client = useSandboxClient();
  return useQuery<Overview, Error>({
    queryKey: sandboxKeys.overview(window),
    queryFn: () => client.overview(window),
    refetchInterval: 30_000,
    placeholderData: keepPreviousData,
  });
}

/**
 * GET /api/policy/report since `since` (a duration back from now, or an RFC 3339 time), refreshed
 * every minute: it reads up to 30 days of history. While another span loads, the last answer
 * stays (`isPlaceholderData`): its own `from` says what it covers.
 */
export function usePolicyReport(since = '168h') {
  const client = useSandboxClient();
  return useQuery<PolicyReport, Error>({
    queryKey: sandboxKeys.policyReport(since),
    queryFn: () => client.policyReport({ since }),
    refetchInterval: 60_000,
    placeholderData: keepPreviousData,
  });
}

/** GET /readyz every minute: the server's health entries (webhook delivery with E2B). */
export function useReadiness() {
  const client = useSandboxClient();
  return useQuery<Readiness, Error>({
    queryKey: ['readyz'],
    queryFn: () => client.readiness(),
    refetchInterval: 60_000,
  });
}
