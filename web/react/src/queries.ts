import { useQuery } from '@tanstack/react-query';
import {
  pollingInterval,
  type EnforcerRun,
  type Explanation,
  type HistoryEvent,
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

/** GET /readyz every minute: the server's health entries (webhook delivery with E2B). */
export function useReadiness() {
  const client = useSandboxClient();
  return useQuery<Readiness, Error>({
    queryKey: ['readyz'],
    queryFn: () => client.readiness(),
    refetchInterval: 60_000,
  });
}
