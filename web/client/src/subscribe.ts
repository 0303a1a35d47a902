import type { SandboxClient } from './client.js';
import { pollingInterval } from './polling.js';
import type { Sandbox } from './types.js';

/**
 * How a subscription currently gets its updates:
 * - `connecting`: opening the SSE stream (first attempt, or the browser is retrying a dropped one);
 * - `sse`: the stream is live; no polling, and the open stream is the presence signal;
 * - `polling`: SSE unavailable (no EventSource, refused e.g. 503, repeated errors): adaptive polling
 *   by `pollingInterval(status)` plus the `recordActivity` heartbeat; SSE is retried with backoff;
 * - `hidden`: the page is hidden: stream closed, no polling, no heartbeat (no presence);
 * - `closed`: unsubscribed.
 */
export type SubscriptionMode = 'connecting' | 'sse' | 'polling' | 'hidden' | 'closed';

/** The part of the DOM EventSource that the subscription uses (injectable for tests). */
export interface EventSourceLike {
  readonly readyState: number;
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean },
) => EventSourceLike;

/** The part of `document` used for presence (injectable for tests). */
export interface VisibilitySource {
  readonly visibilityState: string;
  addEventListener(type: 'visibilitychange', listener: () => void): void;
  removeEventListener(type: 'visibilitychange', listener: () => void): void;
}

export interface SubscribeOptions {
  /** Client used for refetches and the heartbeat. Required when calling `subscribe` directly. */
  client: SandboxClient;
  /**
   * EventSource constructor. Default: globalThis.EventSource. `null` (or none available) disables
   * SSE: the subscription polls from the start.
   */
  EventSource?: EventSourceConstructor | null;
  /** Visibility source. Default: globalThis.document. `null`: always visible. */
  document?: VisibilitySource | null;
  /**
   * Whether the subscription polls by itself in polling mode (default true). Set false when
   * something else polls (the React hook lets TanStack Query's refetchInterval do it) and feed its
   * results to `observe`.
   */
  poll?: boolean;
  /**
   * Fetches the current state: used for polling, after a fallback to polling and when the page
   * becomes visible again. A returned sandbox is delivered (deduplicated by version); null/void
   * delivers nothing. Default: `client.findStatus(projectId)`.
   */
  refetch?: () => Promise<Sandbox | null | undefined | void>;
  /** Presence heartbeat (recordActivity) period in polling mode, ms. Default 60 000; null: off. */
  heartbeatMs?: number | null;
  /** First SSE reconnect delay, ms (doubles per consecutive failure). Default 1 000. */
  reconnectDelayMs?: number;
  /** Cap of the SSE reconnect delay, ms. Default 30 000. */
  maxReconnectDelayMs?: number;
  /** Consecutive SSE errors (without an open in between) before falling back to polling. Default 3. */
  maxSseFailures?: number;
  /** Jitter source in [0,1): delays are stretched by up to 20 %. Default Math.random. */
  random?: () => number;
  /** The snapshot already held (e.g. from a cache): older versions are never delivered. */
  initial?: Sandbox | null;
  onModeChange?: (mode: SubscriptionMode) => void;
  /** Errors of refetches, heartbeats and unparsable events (never thrown). */
  onError?: (error: unknown) => void;
}

/** Calling it unsubscribes. */
export interface Subscription {
  (): void;
  unsubscribe(): void;
  /** Current mode. */
  readonly mode: SubscriptionMode;
  /** Newest snapshot seen (delivered or observed). */
  readonly sandbox: Sandbox | null;
  /**
   * Tell the subscription about a snapshot obtained elsewhere (e.g. a poll done by TanStack Query):
   * it updates the held version (dedupe), the polling cadence and the heartbeat gate. Does not call
   * onSandbox.
   */
  observe(sandbox: Sandbox | null | undefined): void;
  /** Refetch now (through `refetch`). */
  refresh(): Promise<void>;
  /** Retry SSE now, resetting the backoff (e.g. after the sandbox was created). */
  reconnect(): void;
}

const EVENT_SOURCE_CLOSED = 2;

/** Statuses during which the polling-mode heartbeat is sent (a live sandbox to keep alive). */
const HEARTBEAT_STATUSES = new Set(['STARTING', 'RUNNING']);

/**
 * Live status of one project's sandbox.
 *
 * SSE first (`GET …/sandbox/events`, `event: sandbox`): the stream's first event is the current
 * object, then one per change. Snapshots are delivered to `onSandbox` only when their version is
 * higher than the one held, so a late poll or replayed event never moves the state backwards.
 * When SSE is unavailable the subscription polls with the seed's adaptive schedule and sends a
 * `recordActivity` heartbeat as its presence signal, while retrying SSE with capped exponential
 * backoff; it switches back to SSE as soon as a stream opens. While the page is hidden nothing is
 * open or scheduled, so a forgotten background tab lets the sandbox pause; on becoming visible it
 * reconnects and refetches.
 */
export function subscribe(
  projectId: string,
  onSandbox: (sandbox: Sandbox) => void,
  options: SubscribeOptions,
): Subscription {
  const client = options.client;
  const ES: EventSourceConstructor | null =
    options.EventSource === undefined
      ? ((globalThis as { EventSource?: EventSourceConstructor }).EventSource ?? null)
      : options.EventSource;
  const doc: VisibilitySource | null =
    options.document === undefined
      ? ((globalThis as { document?: VisibilitySource }).document ?? null)
      : options.document;
  const poll = options.poll ?? true;
  const refetchFn = options.refetch ?? (() => client.findStatus(projectId));
  const heartbeatMs = options.heartbeatMs === undefined ? 60_000 : options.heartbeatMs;
  const baseDelay = options.reconnectDelayMs ?? 1_000;
  const maxDelay = options.maxReconnectDelayMs ?? 30_000;
  const maxFailures = Math.max(1, options.maxSseFailures ?? 3);
  const random = options.random ?? Math.random;
  const report = (err: unknown) => {
    try {
      options.onError?.(err);
    } catch {
      /* ignore listener failures */
    }
  };

  let current: Sandbox | null = options.initial ?? null;
  let mode: SubscriptionMode = 'connecting';
  let es: EventSourceLike | null = null;
  let failures = 0;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  let stopped = false;

  const setMode = (next: SubscriptionMode) => {
    if (mode === next) return;
    mode = next;
    try {
      options.onModeChange?.(next);
    } catch (err) {
      report(err);
    }
  };

  const isHidden = () => doc !== null && doc.visibilityState === 'hidden';

  // ---- state -------------------------------------------------------------------------------

  /** Records a snapshot; returns true when it is newer than the one held. */
  const accept = (sandbox: Sandbox): boolean => {
    if (current !== null && sandbox.version <= current.version) return false;
    const statusChanged = current?.status !== sandbox.status;
    current = sandbox;
    if (statusChanged && mode === 'polling' && poll) schedulePoll();
    return true;
  };

  const deliver = (sandbox: Sandbox) => {
    if (stopped) return;
    if (accept(sandbox)) onSandbox(sandbox);
  };

  const doRefetch = async (): Promise<void> => {
    try {
      const result = await refetchFn();
      if (result) deliver(result);
    } catch (err) {
      report(err);
    }
  };

  // ---- polling + heartbeat -----------------------------------------------------------------

  const clearPoll = () => {
    if (pollTimer !== null) clearTimeout(pollTimer);
    pollTimer = null;
  };

  function schedulePoll() {
    clearPoll();
    if (stopped || mode !== 'polling' || !poll) return;
    const interval = pollingInterval(current?.status);
    if (interval === null) return; // PAUSED, KILLED or unknown: no polling (seed schedule)
    pollTimer = setTimeout(pollOnce, interval);
  }

  async function pollOnce() {
    pollTimer = null;
    await doRefetch();
    schedulePoll();
  }

  const stopHeartbeat = () => {
    if (heartbeatTimer !== null) clearInterval(heartbeatTimer);
    heartbeatTimer = null;
  };

  const startHeartbeat = () => {
    stopHeartbeat();
    if (heartbeatMs === null || heartbeatMs <= 0) return;
    heartbeatTimer = setInterval(() => {
      if (stopped || mode !== 'polling' || isHidden()) return;
      if (!current || !HEARTBEAT_STATUSES.has(current.status)) return;
      client.recordActivity(projectId).catch(report);
    }, heartbeatMs);
  };

  /** `fetchNow`: the stream may have missed changes (or nothing is known yet): refetch first. */
  const enterPolling = (fetchNow = true) => {
    if (stopped || mode === 'polling') return;
    setMode('polling');
    startHeartbeat();
    if (poll) {
      if (fetchNow) void pollOnce();
      else schedulePoll();
    } else if (fetchNow) {
      void doRefetch();
    }
  };

  const leavePolling = () => {
    clearPoll();
    stopHeartbeat();
  };

  // ---- SSE -----------------------------------------------------------------------------------

  const clearReconnect = () => {
    if (reconnectTimer !== null) clearTimeout(reconnectTimer);
    reconnectTimer = null;
  };

  const closeStream = () => {
    const s = es;
    es = null;
    if (s) {
      try {
        s.close();
      } catch {
        /* ignore */
      }
    }
  };

  const scheduleReconnect = () => {
    clearReconnect();
    if (stopped || ES === null) return;
    const exp = Math.min(Math.max(failures - 1, 0), 16);
    const delay = Math.min(baseDelay * 2 ** exp, maxDelay) * (1 + 0.2 * random());
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      openStream();
    }, delay);
  };

  function openStream() {
    if (stopped || isHidden()) return;
    if (ES === null) {
      enterPolling();
      return;
    }
    closeStream();
    clearReconnect();
    let stream: EventSourceLike;
    try {
      stream = new ES(client.eventsUrl(projectId), { withCredentials: true });
    } catch (err) {
      report(err);
      failures++;
      enterPolling();
      scheduleReconnect();
      return;
    }
    es = stream;
    if (mode !== 'polling') setMode('connecting');

    stream.addEventListener('open', () => {
      if (es !== stream || stopped) return;
      failures = 0;
      clearReconnect();
      leavePolling();
      setMode('sse');
    });

    stream.addEventListener('sandbox', (event: MessageEvent) => {
      if (es !== stream || stopped) return;
      let sandbox: Sandbox;
      try {
        sandbox = JSON.parse(String(event.data)) as Sandbox;
      } catch (err) {
        report(err);
        return;
      }
      if (!sandbox || typeof sandbox.version !== 'number') {
        report(new Error('sandbox event without a version'));
        return;
      }
      deliver(sandbox);
    });

    stream.addEventListener('error', () => {
      if (es !== stream || stopped) return;
      failures++;
      const refused = stream.readyState === EVENT_SOURCE_CLOSED; // e.g. 503 stream limit, 401, 404
      if (refused || failures >= maxFailures) {
        closeStream();
        enterPolling();
        scheduleReconnect();
      } else if (mode === 'sse') {
        // The browser reconnects by itself (sending Last-Event-ID); count until it gives up.
        setMode('connecting');
      }
    });
  }

  // ---- visibility (presence) ---------------------------------------------------------------

  const suspend = () => {
    closeStream();
    clearReconnect();
    leavePolling();
    setMode('hidden');
  };

  const resume = () => {
    failures = 0;
    if (ES === null) {
      enterPolling(); // refetches immediately
      return;
    }
    setMode('connecting');
    openStream();
    void doRefetch();
  };

  const onVisibilityChange = () => {
    if (stopped) return;
    if (isHidden()) {
      if (mode !== 'hidden') suspend();
    } else if (mode === 'hidden') {
      resume();
    }
  };

  doc?.addEventListener('visibilitychange', onVisibilityChange);

  // ---- start ---------------------------------------------------------------------------------

  if (isHidden()) setMode('hidden');
  else if (ES === null) enterPolling(current === null); // no SSE at all: poll from the start
  else openStream();

  const unsubscribe = () => {
    if (stopped) return;
    stopped = true;
    doc?.removeEventListener('visibilitychange', onVisibilityChange);
    closeStream();
    clearReconnect();
    leavePolling();
    // setMode checks nothing about `stopped`, so listeners still hear 'closed'.
    setMode('closed');
  };

  const subscription = unsubscribe as Subscription;
  Object.defineProperties(subscription, {
    unsubscribe: { value: unsubscribe },
    mode: { get: () => mode, enumerable: true },
    sandbox: { get: () => current, enumerable: true },
    observe: {
      value: (sandbox: Sandbox | null | undefined) => {
        if (sandbox && !stopped) accept(sandbox);
      },
    },
    refresh: { value: () => (stopped ? Promise.resolve() : doRefetch()) },
    reconnect: {
      value: () => {
        if (stopped || isHidden()) return;
        failures = 0;
        openStream();
      },
    },
  });
  return subscription;
}
