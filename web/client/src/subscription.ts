/** Public types of a live subscription (`subscribe`, `SandboxClient.subscribe`). */
import type { SubscriptionClient } from './subscription-client.js';
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
  /**
   * Client used for the stream URL, refetches and the heartbeat (a SandboxClient). Required when
   * calling `subscribe` directly.
   */
  client: SubscriptionClient;
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
   * becomes visible again. A returned sandbox is delivered (deduplicated by version); null means
   * the project has no sandbox (404): the held snapshot is dropped, so that a record made again
   * for the project (its versions start over) is delivered; undefined/void delivers nothing.
   * Default: `client.findStatus(projectId)`.
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
  /**
   * The server's `pause_pending` event (`--pause-warning`, default 30 s before an idle pause),
   * once per idle episode. A later `pauseAt` or another status in a delivered sandbox ends it.
   */
  onPausePending?: (warning: PausePending) => void;
  /**
   * The project's sandbox record was forgotten (the stream's `event: end`, `not_found`). The held
   * snapshot is dropped first, so the next one delivered may have a lower version (a record made
   * again starts over).
   */
  onGone?: () => void;
  /** Errors of refetches, heartbeats and unparsable events (never thrown). */
  onError?: (error: unknown) => void;
}

/** A warning that the sandbox will be paused for idleness at `pauseAt`. */
export interface PausePending {
  projectId: string;
  pauseAt: string;
  /** Seconds from the server's send to `pauseAt`, rounded up. */
  secondsLeft: number;
  /**
   * When this client received it, by `performance.now()` (monotonic): count `secondsLeft` down
   * from here, not from the wall clock, which may be set apart from the server's.
   */
  receivedAt?: number;
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
   * it updates the held version (dedupe), the polling cadence and the heartbeat gate; null (the
   * project has no sandbox) drops the held snapshot. Does not call onSandbox.
   */
  observe(sandbox: Sandbox | null | undefined): void;
  /** Refetch now (through `refetch`). */
  refresh(): Promise<void>;
  /** Retry SSE now, resetting the backoff (e.g. after the sandbox was created). */
  reconnect(): void;
}
