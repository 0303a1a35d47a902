import type { SandboxStatus } from '@sandboxd/client';

export const STATUS_LABELS: Record<SandboxStatus, string> = {
  STARTING: 'Starting',
  RUNNING: 'Running',
  PAUSING: 'Pausing',
  PAUSED: 'Paused',
  KILLED: 'Stopped',
};

export interface StatusLabelInput {
  /** undefined: not loaded yet; null: the project has no sandbox. */
  sandbox: { status: SandboxStatus } | null | undefined;
  isWaking?: boolean;
  error?: unknown;
}

/**
 * The status text. Background refetches never change it (no "checking…" flicker): the only
 * pending text is "Waking…" while a wake is in flight, and "Loading…" before the first answer.
 */
export function statusLabel({ sandbox, isWaking, error }: StatusLabelInput): string {
  if (isWaking) return 'Waking…';
  if (sandbox === undefined) return error ? 'Unavailable' : 'Loading…';
  if (sandbox === null) return 'No sandbox';
  return STATUS_LABELS[sandbox.status] ?? sandbox.status;
}

export type StatusTone = 'pending' | 'running' | 'transition' | 'paused' | 'stopped' | 'unknown';

/** A colour family for the status: "pending" only while waking (the seed's statusClasses). */
export function statusTone(status: SandboxStatus | null | undefined, isWaking = false): StatusTone {
  if (isWaking) return 'pending';
  switch (status) {
    case 'RUNNING':
      return 'running';
    case 'STARTING':
    case 'PAUSING':
      return 'transition';
    case 'PAUSED':
      return 'paused';
    case 'KILLED':
      return 'stopped';
    default:
      return 'unknown';
  }
}
