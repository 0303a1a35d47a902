import { useEffect, useRef, useState } from 'react';
import { useIsMutating, useQuery, useQueryClient } from '@tanstack/react-query';
import {
  newerSandbox,
  pollingInterval,
  type PausePending,
  type Sandbox,
  type SandboxStatus,
  type Subscription,
  type SubscriptionMode,
} from '@sandboxd/client';
import { useLiveDefaults, useSandboxClient, type LiveOptions } from './context.js';
import { sandboxKeys } from './keys.js';
import { statusLabel } from './labels.js';

/** Keeps the snapshot with the highest version (used as TanStack's structuralSharing). */
export function keepNewest(oldData: unknown, newData: unknown): unknown {
  return newerSandbox(oldData as Sandbox | null | undefined, newData as Sandbox | null | undefined);
}

/** Where the status comes from: a live subscription mode, or 'off' (no stream: polling only). */
export type StatusMode = SubscriptionMode | 'off';

export interface UseSandboxStatusOptions {
  /** Run the query at all (default true). */
  enabled?: boolean;
  /** Open the live SSE subscription (default true). Without it the hook only polls. */
  live?: boolean;
  /** Per-hook subscription settings, over the provider's defaults. */
  liveOptions?: LiveOptions;
}

export interface SandboxStatusResult {
  /** The sandbox, or null when unknown yet or the project has none (see `notFound`). */
  sandbox: Sandbox | null;
  status: SandboxStatus | null;
  /** Never "checking…": "Waking…" only while a wake is in flight, "Loading…" before any data. */
  statusLabel: string;
  isWaking: boolean;
  /** First load, no data yet. */
  isLoading: boolean;
  /** The project has no sandbox (404). */
  notFound: boolean;
  error: Error | null;
  /** 'sse' while the stream is live (polling off), 'polling' in fallback, etc. */
  mode: StatusMode;
  /**
   * The server's warning that an idle pause is near (SSE `pause_pending`), while it still holds:
   * null once the sandbox's `pauseAt` moved (activity, a hold) or it is no longer RUNNING.
   */
  pausePending: PausePending | null;
  refetch: () => Promise<unknown>;
}

/**
 * Status of a project's sandbox, seed-compatible: TanStack Query with key ['sandbox', projectId]
 * and `refetchInterval` = `pollingInterval(cached status)` (none while PAUSED/KILLED, 30 s RUNNING,
 * 5 s STARTING/PAUSING) — switched off while the SSE stream is live, whose events are written to
 * the cache with setQueryData (newest version wins). The open stream is the page's presence; it is
 * closed while the page is hidden.
 */
export function useSandboxStatus(
  projectId: string,
  options: UseSandboxStatusOptions = {},
): SandboxStatusResult {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  const liveDefaults = useLiveDefaults();
  const enabled = options.enabled ?? true;
  const live = options.live ?? true;
  const [mode, setMode] = useState<StatusMode>('off');
  const [warning, setWarning] = useState<PausePending | null>(null);
  const liveOptionsRef = useRef<LiveOptions>({});
  liveOptionsRef.current = { ...liveDefaults, ...options.liveOptions };
  const subscriptionRef = useRef<Subscription | null>(null);

  const query = useQuery<Sandbox | null, Error>({
    queryKey: sandboxKeys.status(projectId),
    queryFn: () => client.findStatus(projectId),
    enabled,
    // Live stream → no polling; hidden page → nothing (presence stops); else the seed schedule.
    refetchInterval: (q) =>
      mode === 'sse' || mode === 'hidden'
        ? false
        : (pollingInterval(q.state.data?.status) ?? false),
    // The subscription refetches when the page becomes visible again.
    refetchOnWindowFocus: !live,
    structuralSharing: keepNewest,
  });

  // A record, or the answer that the project has none (404). The subscription runs in both cases:
  // on a project without a sandbox its stream is refused and retried with backoff (no polling),
  // so a sandbox made for it elsewhere shows up without a reload.
  const known = query.data !== undefined;

  useEffect(() => {
    if (!live || !enabled || !known) {
      setMode('off');
      return;
    }
    const key = sandboxKeys.status(projectId);
    const subscription = client.subscribe(
      projectId,
      (sandbox) =>
        queryClient.setQueryData<Sandbox | null>(key, (old) => newerSandbox(old, sandbox)),
      {
        ...liveOptionsRef.current,
        poll: false, // TanStack's refetchInterval polls
        initial: queryClient.getQueryData<Sandbox | null>(key) ?? null,
        refetch: async () => {
          await queryClient.refetchQueries({ queryKey: key, exact: true, type: 'active' });
        },
        onModeChange: setMode,
        onPausePending: setWarning,
        // Forgotten: drop the cached snapshot (newest-version-wins would keep it over a record
        // made again, whose versions start over) and fetch what there is now.
        onGone: () => void queryClient.resetQueries({ queryKey: key, exact: true }),
      },
    );
    subscriptionRef.current = subscription;
    setMode(subscription.mode);
    return () => {
      subscriptionRef.current = null;
      subscription();
    };
  }, [client, queryClient, projectId, live, enabled, known]);

  // Polled snapshots tell the subscription the current version/status (dedupe, heartbeat gate).
  // A record where there was none (made here, or found by a refetch) opens the stream now rather
  // than after the refused stream's backoff.
  const previousData = useRef<Sandbox | null | undefined>(undefined);
  useEffect(() => {
    const subscription = subscriptionRef.current;
    subscription?.observe(query.data);
    const appeared = previousData.current === null && query.data != null;
    if (appeared && subscription?.mode === 'polling') subscription.reconnect();
    previousData.current = query.data;
  }, [query.data]);

  const isWaking = useIsMutating({ mutationKey: sandboxKeys.wake(projectId) }) > 0;
  const sandbox = query.data ?? null;
  const pausePending =
    warning && sandbox?.status === 'RUNNING' && sandbox.pauseAt === warning.pauseAt ? warning : null;
  return {
    sandbox,
    status: sandbox?.status ?? null,
    statusLabel: statusLabel({ sandbox: query.data, isWaking, error: query.error }),
    isWaking,
    isLoading: query.isLoading,
    notFound: query.data === null,
    error: query.error,
    mode,
    pausePending,
    refetch: query.refetch,
  };
}
