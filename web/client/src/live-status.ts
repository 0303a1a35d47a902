import { pollingInterval } from './polling.js';
import type {
  EventSourceConstructor,
  EventSourceLike,
  PausePending,
  SubscribeOptions,
  SubscriptionMode,
  VisibilitySource,
} from './subscription.js';
import type { Sandbox } from './types.js';

const EVENT_SOURCE_CLOSED = 2;

/** Statuses during which the polling-mode heartbeat is sent (a live sandbox to keep alive). */
const HEARTBEAT_STATUSES = new Set(['STARTING', 'RUNNING']);

/** SubscribeOptions with every default filled in (the listeners and `initial` stay as given). */
type Settings = Required<
  Omit<SubscribeOptions, 'initial' | 'onModeChange' | 'onError' | 'onPausePending' | 'onGone'>
>;

function withDefaults(projectId: string, options: SubscribeOptions): Settings {
  const { client } = options;
  return {
    client,
    EventSource:
      options.EventSource === undefined
        ? ((globalThis as { EventSource?: EventSourceConstructor }).EventSource ?? null)
        : options.EventSource,
    document:
      options.document === undefined
        ? ((globalThis as { document?: VisibilitySource }).document ?? null)
        : options.document,
    poll: options.poll ?? true,
    refetch: options.refetch ?? (() => client.findStatus(projectId)),
    heartbeatMs: options.heartbeatMs === undefined ? 60_000 : options.heartbeatMs,
    reconnectDelayMs: options.reconnectDelayMs ?? 1_000,
    maxReconnectDelayMs: options.maxReconnectDelayMs ?? 30_000,
    maxSseFailures: Math.max(1, options.maxSseFailures ?? 3),
    random: options.random ?? Math.random,
  };
}

/**
 * Delay before the next SSE attempt after `failures` consecutive failures: the base delay doubled
 * per failure after the first, capped, then stretched by up to 20 % of jitter.
 */
function retryDelayMs(failures: number, settings: Settings): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 16);
  const delay = Math.min(settings.reconnectDelayMs * 2 ** exponent, settings.maxReconnectDelayMs);
  return delay * (1 + 0.2 * settings.random());
}

/** The snapshot an `event: sandbox` message carries, or why it carries none. */
function parseSandboxEvent(data: unknown): { sandbox: Sandbox } | { error: unknown } {
  let sandbox: Sandbox;
  try {
    sandbox = JSON.parse(String(data)) as Sandbox;
  } catch (error) {
    return { error };
  }
  if (!sandbox || typeof sandbox.version !== 'number') {
    return { error: new Error('sandbox event without a version') };
  }
  return { sandbox };
}

/** At most one pending timeout or interval; starting it again replaces the pending one. */
class Timer {
  private timeout: ReturnType<typeof setTimeout> | null = null;
  private interval: ReturnType<typeof setInterval> | null = null;

  after(ms: number, fire: () => void): void {
    this.cancel();
    this.timeout = setTimeout(() => {
      this.timeout = null;
      fire();
    }, ms);
  }

  every(ms: number, fire: () => void): void {
    this.cancel();
    this.interval = setInterval(fire, ms);
  }

  cancel(): void {
    if (this.timeout !== null) clearTimeout(this.timeout);
    if (this.interval !== null) clearInterval(this.interval);
    this.timeout = null;
    this.interval = null;
  }
}

/**
 * One subscription's state machine: the mode, the stream, the timers. Each transition is one
 * method:
 *
 *   start              → connecting; polling without an EventSource; hidden on a hidden page
 *   onStreamOpen         connecting | polling → sse        polling and heartbeat stop
 *   onStreamError        sse → connecting                  the browser retries the stream itself
 *   fallBackToPolling    connecting | sse → polling        on a refused stream or maxSseFailures
 *                                                          errors in a row; arms retrySse
 *   retrySse             polling → polling                 a new stream after retryDelayMs
 *                                                          (doubling per failure, capped); its
 *                                                          open is onStreamOpen, its failure
 *                                                          falls back again
 *   reconnect            like retrySse, now and with the backoff reset
 *   hide                 any → hidden                      nothing open, nothing scheduled
 *   show                 hidden → connecting | polling     and refetch what was missed
 *   close                any → closed
 *
 * A stream is open only in `connecting`, `sse`, and in `polling` while a retry is in flight.
 * Polls and heartbeats run only in `polling`: polls only while the status has an interval
 * (`pollingInterval`: 30 s RUNNING, 5 s STARTING/PAUSING, never PAUSED or KILLED), heartbeats
 * only for a STARTING or RUNNING sandbox.
 */
export class LiveStatus {
  private currentMode: SubscriptionMode = 'connecting';
  private held: Sandbox | null;
  private stream: EventSourceLike | null = null;
  /** SSE errors since the last open (or since `show` / `reconnect`): drives fallback and backoff. */
  private failures = 0;
  private readonly retryTimer = new Timer();
  private readonly pollTimer = new Timer();
  private readonly heartbeatTimer = new Timer();
  private readonly settings: Settings;

  constructor(
    private readonly projectId: string,
    private readonly onSandbox: (sandbox: Sandbox) => void,
    private readonly options: SubscribeOptions,
  ) {
    this.settings = withDefaults(projectId, options);
    this.held = options.initial ?? null;
  }

  get mode(): SubscriptionMode {
    return this.currentMode;
  }

  get sandbox(): Sandbox | null {
    return this.held;
  }

  // ---- transitions -----------------------------------------------------------------------

  start(): void {
    this.settings.document?.addEventListener('visibilitychange', this.onVisibilityChange);
    if (this.isHidden()) this.setMode('hidden');
    else if (this.settings.EventSource === null) this.enterPolling(this.held === null);
    else this.openStream();
  }

  private onStreamOpen(): void {
    this.failures = 0;
    this.retryTimer.cancel();
    this.stopPolling();
    this.setMode('sse');
  }

  private onStreamError(stream: EventSourceLike): void {
    this.failures++;
    const refused = stream.readyState === EVENT_SOURCE_CLOSED; // e.g. 503 stream limit, 401, 404
    if (refused || this.failures >= this.settings.maxSseFailures) {
      this.fallBackToPolling();
    } else if (this.currentMode === 'sse') {
      // The browser reconnects by itself (sending Last-Event-ID); count until it gives up.
      this.setMode('connecting');
    }
  }

  /** Closes the stream, polls, and schedules retrySse after the backoff delay. */
  private fallBackToPolling(): void {
    this.closeStream();
    this.enterPolling();
    this.retryTimer.after(retryDelayMs(this.failures, this.settings), () => this.retrySse());
  }

  private retrySse(): void {
    this.openStream();
  }

  /** `fetchNow`: the stream may have missed changes (or nothing is known yet): refetch first. */
  private enterPolling(fetchNow = true): void {
    if (this.isClosed() || this.currentMode === 'polling') return;
    this.setMode('polling');
    this.startHeartbeat();
    if (this.settings.poll) {
      if (fetchNow) void this.pollOnce();
      else this.schedulePoll();
    } else if (fetchNow) {
      void this.refetchNow();
    }
  }

  private hide(): void {
    this.stopAll();
    this.setMode('hidden');
  }

  private show(): void {
    this.failures = 0;
    if (this.settings.EventSource === null) {
      this.enterPolling(); // refetches immediately
      return;
    }
    this.setMode('connecting');
    this.openStream();
    void this.refetchNow();
  }

  close(): void {
    if (this.isClosed()) return;
    this.settings.document?.removeEventListener('visibilitychange', this.onVisibilityChange);
    this.stopAll();
    this.setMode('closed');
  }

  // ---- the rest of the public handle ------------------------------------------------------

  observe(sandbox: Sandbox | null | undefined): void {
    if (this.isClosed()) return;
    if (sandbox) this.accept(sandbox);
    else if (sandbox === null) this.forget();
  }

  refresh(): Promise<void> {
    return this.isClosed() ? Promise.resolve() : this.refetchNow();
  }

  reconnect(): void {
    if (this.isClosed() || this.isHidden()) return;
    this.failures = 0;
    this.openStream();
  }

  // ---- the stream ------------------------------------------------------------------------

  /** Replaces the stream with a new one (in `polling` the mode stays until it opens). */
  private openStream(): void {
    if (this.isClosed() || this.isHidden()) return;
    const EventSource = this.settings.EventSource;
    if (EventSource === null) {
      this.enterPolling();
      return;
    }
    this.closeStream();
    this.retryTimer.cancel();
    let stream: EventSourceLike;
    try {
      stream = new EventSource(this.settings.client.eventsUrl(this.projectId), {
        withCredentials: true,
      });
    } catch (err) {
      this.report(err);
      this.failures++;
      this.fallBackToPolling();
      return;
    }
    this.stream = stream;
    if (this.currentMode !== 'polling') this.setMode('connecting');
    // A replaced or closed stream's late events are ignored.
    const isCurrent = () => this.stream === stream && !this.isClosed();
    stream.addEventListener('open', () => {
      if (isCurrent()) this.onStreamOpen();
    });
    stream.addEventListener('sandbox', (event: MessageEvent) => {
      if (isCurrent()) this.onStreamSandbox(event);
    });
    stream.addEventListener('pause_pending', (event: MessageEvent) => {
      if (isCurrent()) this.onStreamPausePending(event);
    });
    stream.addEventListener('end', (event: MessageEvent) => {
      if (isCurrent()) this.onStreamEnd(event);
    });
    stream.addEventListener('error', () => {
      if (isCurrent()) this.onStreamError(stream);
    });
  }

  private onStreamPausePending(event: MessageEvent): void {
    let warning: PausePending;
    try {
      const data = JSON.parse(String(event.data)) as Partial<PausePending>;
      if (typeof data.pauseAt !== 'string' || typeof data.secondsLeft !== 'number') {
        throw new Error('pause_pending event without pauseAt/secondsLeft');
      }
      warning = {
        projectId: typeof data.projectId === 'string' ? data.projectId : this.projectId,
        pauseAt: data.pauseAt,
        secondsLeft: data.secondsLeft,
        receivedAt: performance.now(),
      };
    } catch (err) {
      this.report(err);
      return;
    }
    try {
      this.options.onPausePending?.(warning);
    } catch (err) {
      this.report(err);
    }
  }

  /**
   * `event: end` with `not_found`: the project was forgotten. The held snapshot no longer counts
   * (a record made again before the browser's reconnect starts its versions over); the browser
   * reconnects by itself and gets the new record or a 404.
   */
  private onStreamEnd(event: MessageEvent): void {
    let code: unknown;
    try {
      code = (JSON.parse(String(event.data)) as { code?: unknown } | null)?.code;
    } catch (err) {
      this.report(err);
      return;
    }
    if (code !== 'not_found') return;
    this.forget();
    try {
      this.options.onGone?.();
    } catch (err) {
      this.report(err);
    }
  }

  private onStreamSandbox(event: MessageEvent): void {
    const parsed = parseSandboxEvent(event.data);
    if ('error' in parsed) this.report(parsed.error);
    else this.deliver(parsed.sandbox);
  }

  private closeStream(): void {
    const stream = this.stream;
    this.stream = null;
    try {
      stream?.close();
    } catch {
      /* ignore */
    }
  }

  // ---- polling and heartbeat -------------------------------------------------------------

  /** Arms the next poll by the seed schedule: none outside `polling` or while PAUSED/KILLED. */
  private schedulePoll(): void {
    this.pollTimer.cancel();
    if (this.isClosed() || this.currentMode !== 'polling' || !this.settings.poll) return;
    const interval = pollingInterval(this.held?.status);
    if (interval === null) return;
    this.pollTimer.after(interval, () => void this.pollOnce());
  }

  private async pollOnce(): Promise<void> {
    await this.refetchNow();
    this.schedulePoll();
  }

  private startHeartbeat(): void {
    const periodMs = this.settings.heartbeatMs;
    this.heartbeatTimer.cancel();
    if (periodMs === null || periodMs <= 0) return;
    this.heartbeatTimer.every(periodMs, () => this.beat());
  }

  private beat(): void {
    if (this.isClosed() || this.currentMode !== 'polling' || this.isHidden()) return;
    if (!this.held || !HEARTBEAT_STATUSES.has(this.held.status)) return;
    this.settings.client.recordActivity(this.projectId).catch(this.report);
  }

  private stopPolling(): void {
    this.pollTimer.cancel();
    this.heartbeatTimer.cancel();
  }

  /** Closes the stream and cancels every timer: nothing open, nothing scheduled. */
  private stopAll(): void {
    this.closeStream();
    this.retryTimer.cancel();
    this.stopPolling();
  }

  // ---- snapshots ---------------------------------------------------------------------------

  /** Holds `sandbox` if it is newer than the held one; returns whether it was. */
  private accept(sandbox: Sandbox): boolean {
    if (this.held !== null && sandbox.version <= this.held.version) return false;
    const statusChanged = this.held?.status !== sandbox.status;
    this.held = sandbox;
    if (statusChanged) this.schedulePoll(); // the cadence follows the status
    return true;
  }

  /**
   * The project has no sandbox record (a refetch answered 404): the held version no longer
   * counts. A record made again for the project starts its versions over, so its snapshots must
   * not be compared with the forgotten one's.
   */
  private forget(): void {
    this.held = null;
    this.schedulePoll(); // nothing to poll for until a record appears
  }

  private deliver(sandbox: Sandbox): void {
    if (!this.isClosed() && this.accept(sandbox)) this.onSandbox(sandbox);
  }

  private async refetchNow(): Promise<void> {
    try {
      const result = await this.settings.refetch();
      if (this.isClosed()) return;
      if (result) this.deliver(result);
      else if (result === null) this.forget();
    } catch (err) {
      this.report(err);
    }
  }

  // ---- helpers -----------------------------------------------------------------------------

  private readonly onVisibilityChange = (): void => {
    if (this.isClosed()) return;
    if (this.isHidden()) {
      if (this.currentMode !== 'hidden') this.hide();
    } else if (this.currentMode === 'hidden') {
      this.show();
    }
  };

  private isHidden(): boolean {
    return this.settings.document?.visibilityState === 'hidden';
  }

  private isClosed(): boolean {
    return this.currentMode === 'closed';
  }

  /** Mode changes are reported even on the way to `closed`. */
  private setMode(next: SubscriptionMode): void {
    if (this.currentMode === next) return;
    this.currentMode = next;
    try {
      this.options.onModeChange?.(next);
    } catch (err) {
      this.report(err);
    }
  }

  private readonly report = (err: unknown): void => {
    try {
      this.options.onError?.(err);
    } catch {
      /* a failing listener must not break the subscription */
    }
  };
}
