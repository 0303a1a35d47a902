import type { PausePending } from '@sandboxd/client';
import type { useKeepAwake } from '@sandboxd/react';
import { Countdown } from '../components/Countdown';
import { ErrorNote } from '../components/ErrorNote';

/**
 * The server's warning (SSE `pause_pending`) that the sandbox is about to be paused for
 * idleness: "Pausing in 30 s — Keep awake". Keep awake records activity, which moves pauseAt and
 * so ends the warning.
 */
export function PauseWarning({
  warning,
  keepAwake,
}: {
  warning: PausePending;
  keepAwake: ReturnType<typeof useKeepAwake>;
}) {
  return (
    <div className="pause-warning" role="alert" data-testid="pause-warning">
      <span>
        Pausing in <Countdown pauseAt={warning.pauseAt} /> for inactivity
      </span>
      <button
        type="button"
        data-testid="keep-awake-button"
        disabled={keepAwake.isPending}
        onClick={() => keepAwake.mutate()}
      >
        {keepAwake.isPending ? 'Keeping awake…' : 'Keep awake'}
      </button>
      <ErrorNote error={keepAwake.error} prefix="Could not keep it awake" />
    </div>
  );
}
