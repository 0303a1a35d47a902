import type { Sandbox } from '@sandboxd/client';
import type { useKillSandbox, usePauseSandbox } from '@sandboxd/react';
import { formatSeconds } from '../format';

/** Pause and Kill. The page owns the mutations: it shows their errors above everything else. */
export function ActionsCard({
  sandbox,
  isWaking,
  pause,
  kill,
}: {
  sandbox: Sandbox;
  isWaking: boolean;
  pause: ReturnType<typeof usePauseSandbox>;
  kill: ReturnType<typeof useKillSandbox>;
}) {
  return (
    <div className="card actions-card">
      <h2>Actions</h2>
      <div className="row">
        <button
          type="button"
          data-testid="pause-button"
          disabled={sandbox.status !== 'RUNNING' || pause.isPending || isWaking}
          onClick={() => pause.mutate()}
        >
          {pause.isPending ? 'Pausing…' : 'Pause now'}
        </button>
        <button
          type="button"
          className="danger"
          data-testid="kill-button"
          disabled={sandbox.status === 'KILLED' || kill.isPending || isWaking}
          onClick={() => kill.mutate()}
        >
          {kill.isPending ? 'Killing…' : 'Kill'}
        </button>
      </div>
      <p className="muted small">
        While this page is open and visible it keeps the sandbox alive; it pauses{' '}
        {formatSeconds(sandbox.idleTimeoutSeconds)} after the last viewer leaves.
      </p>
    </div>
  );
}
