import { LiveStatus } from './live-status.js';
import type { SubscribeOptions, Subscription } from './subscription.js';
import type { Sandbox } from './types.js';

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
  const live = new LiveStatus(projectId, onSandbox, options);
  live.start();
  return asSubscription(live);
}

/** The public handle over a LiveStatus: a function that unsubscribes, with the methods attached. */
function asSubscription(live: LiveStatus): Subscription {
  const unsubscribe = () => live.close();
  return Object.defineProperties(unsubscribe, {
    unsubscribe: { value: unsubscribe },
    mode: { get: () => live.mode, enumerable: true },
    sandbox: { get: () => live.sandbox, enumerable: true },
    observe: { value: (sandbox: Sandbox | null | undefined) => live.observe(sandbox) },
    refresh: { value: () => live.refresh() },
    reconnect: { value: () => live.reconnect() },
  }) as Subscription;
}
