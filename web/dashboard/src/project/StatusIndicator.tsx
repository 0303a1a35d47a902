import type { SandboxStatusResult, StatusMode } from '@sandboxd/react';
import { StatusPill } from '../components/StatusPill';

const MODE_TEXT: Record<StatusMode, string> = {
  sse: 'live',
  connecting: 'connecting…',
  polling: 'polling',
  hidden: 'paused while tab hidden',
  closed: 'closed',
  off: 'polling',
};

/** The page head's status: pill, label, and where the status comes from (live stream or polling). */
export function StatusIndicator({ status }: { status: SandboxStatusResult }) {
  const { sandbox } = status;
  return (
    <div className="status-indicator">
      {sandbox && <StatusPill status={sandbox.status} isWaking={status.isWaking} />}
      <span className="status-label" data-testid="status-label">
        {status.statusLabel}
      </span>
      {sandbox && (
        <span className={`mode mode-${status.mode}`} data-testid="live-mode" data-mode={status.mode}>
          {MODE_TEXT[status.mode]}
        </span>
      )}
    </div>
  );
}
