import { useState } from 'react';
import type { PausePending } from '@sandboxd/client';
import type { useKeepAwake } from '@sandboxd/react';
import { CountdownFrom } from '../components/Countdown';
import { ErrorNote } from '../components/ErrorNote';

/**
 * When `value` was first rendered, by `performance.now()` (monotonic); a new value (by identity)
 * starts over.
 */
function useArrivalTime(value: unknown): number {
  const [arrival, setArrival] = useState(() => ({ value, at: performance.now() }));
  if (arrival.value === value) return arrival.at;
  const at = performance.now();
  setArrival({ value, at });
  return at;
}

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
  // Counted from the warning's arrival (as the client library received it, else as first shown),
  // not from the browser's Date.now() against the server's pauseAt: the two clocks may be far
  // apart.
  const shownAt = useArrivalTime(warning);
  const receivedAt = warning.receivedAt ?? shownAt;
  return (
    <div className="pause-warning" role="alert" data-testid="pause-warning">
      <span>
        Pausing in <CountdownFrom seconds={warning.secondsLeft} since={receivedAt} /> for inactivity
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
