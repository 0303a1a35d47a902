import type { Sandbox, SandboxStatus } from './types.js';

/** Poll interval while RUNNING (the seed's schedule). */
export const RUNNING_POLL_MS = 30_000;
/** Poll interval while a transition is in progress (STARTING, PAUSING). */
export const TRANSITION_POLL_MS = 5_000;

/**
 * The seed's adaptive polling schedule, used whenever the SSE stream is not live:
 * PAUSED and KILLED → null (no polling), RUNNING → 30 s, STARTING/PAUSING → 5 s.
 * An unknown status (no sandbox yet) → null.
 */
export function pollingInterval(status: SandboxStatus | null | undefined): number | null {
  switch (status) {
    case 'RUNNING':
      return RUNNING_POLL_MS;
    case 'STARTING':
    case 'PAUSING':
      return TRANSITION_POLL_MS;
    case 'PAUSED':
    case 'KILLED':
      return null;
    default:
      return null;
  }
}

/**
 * Of two snapshots of the same project's sandbox, the one to keep: the incoming one unless the
 * held one has a higher version (never go back to an older version). Equal versions keep the
 * incoming object (same state; lets callers refresh derived fields). A null/undefined incoming
 * value (the project has no sandbox) is taken as is.
 */
export function newerSandbox<T extends Sandbox | null | undefined>(
  held: T,
  incoming: T,
): T {
  if (held == null || incoming == null) return incoming;
  return incoming.version >= held.version ? incoming : held;
}

/** True when `incoming` should replace `held` (strictly newer version, or nothing held). */
export function isNewer(held: Sandbox | null | undefined, incoming: Sandbox): boolean {
  return held == null || incoming.version > held.version;
}
