import type { SandboxStatus } from '@sandboxd/client';
import { statusTone } from '@sandboxd/react';

/** A coloured pill whose text is the raw status (RUNNING, PAUSED, …). */
export function StatusPill({ status, isWaking = false }: { status: SandboxStatus; isWaking?: boolean }) {
  const tone = statusTone(status, isWaking);
  return (
    <span
      className={`pill pill-${tone}`}
      data-testid="status-pill"
      data-status={status}
      data-waking={isWaking ? 'true' : undefined}
      title={isWaking ? 'Waking…' : status}
    >
      <span className="pill-dot" aria-hidden="true" />
      {status}
    </span>
  );
}
