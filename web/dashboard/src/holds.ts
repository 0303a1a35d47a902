import type { Sandbox, SandboxHold } from '@sandboxd/client';

/**
 * The sandbox's busy holds unexpired at `now` (ms). A hold's expiry writes nothing, so no new
 * snapshot says it is gone: every view drops it at its expiresAt itself, as the server does
 * (wire.cc HoldsJson).
 */
export function unexpiredHolds(s: Sandbox, now: number): SandboxHold[] {
  return (s.holds ?? []).filter((h) => Date.parse(h.expiresAt) > now);
}
