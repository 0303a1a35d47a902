import type { AwakeReason, Sandbox } from '@sandboxd/client';
import { useSandboxExplanation } from '@sandboxd/react';
import { useNow } from '../components/Countdown';
import { ErrorNote } from '../components/ErrorNote';
import { formatTime } from '../format';
import { unexpiredHolds } from '../holds';
import { withLiveRecord } from './liveExplanation';

function reasonText(r: AwakeReason): string {
  if (r.kind === 'hold') return `hold "${r.name}" until ${formatTime(r.until)}`;
  if (r.kind === 'presence') return `${r.streams} open dashboard stream${r.streams === 1 ? '' : 's'}`;
  const source =
    r.source === 'start' ? 'its start' : r.source === 'preview' ? 'preview traffic' : `${r.source ?? 'unknown'} activity`;
  return `${source} at ${formatTime(r.at)} (keeps it awake until ${formatTime(r.until)})`;
}

/**
 * Why the sandbox is in its status (GET …/explain): the live reasons it is
 * awake and which one sets pauseAt, who paused it and what that decision saw,
 * the last failure and its retry, what happens next; and its busy holds,
 * live from the sandbox object.
 */
export function WhyCard({ projectId, sandbox }: { projectId: string; sandbox: Sandbox }) {
  const explain = useSandboxExplanation(projectId);
  // A hold is gone at its expiry, with or without a new snapshot of the sandbox: both lists
  // leave out what has expired by now (the card looks again every 5 s).
  const now = useNow(5_000);
  // Activity moves the pause time without a new explanation: brought up to date from the
  // sandbox's snapshot (liveExplanation.ts).
  const e = explain.data && withLiveRecord(explain.data, sandbox, now);
  const holds = unexpiredHolds(sandbox, now);
  const awake = (e?.awake ?? []).filter((r) => r.kind !== 'hold' || !r.until || Date.parse(r.until) > now);
  return (
    <div className="card" data-testid="why-card">
      <h2>Why</h2>
      <ErrorNote error={explain.error} prefix="Could not explain" />
      {e && (
        <>
          <p data-testid="why-summary">{e.summary}</p>
          {awake.length > 0 && (
            <ul className="why-reasons">
              {awake.map((r, i) => {
                const sets =
                  e.pauseAtSetBy !== null &&
                  e.pauseAtSetBy.kind === r.kind &&
                  (r.kind === 'hold' ? e.pauseAtSetBy.name === r.name : e.pauseAtSetBy.source === r.source);
                return (
                  <li key={i} data-testid="why-reason" data-kind={r.kind} data-sets-pause-at={sets}>
                    {reasonText(r)}
                    {sets && <strong> — sets the pause time</strong>}
                  </li>
                );
              })}
            </ul>
          )}
          {e.cause && (
            <details data-testid="why-cause">
              <summary>
                {e.cause.type} by {e.cause.by}, {formatTime(e.cause.at)}
              </summary>
              <pre data-testid="why-inputs">{JSON.stringify(e.cause.inputs, null, 2)}</pre>
            </details>
          )}
          {e.failure && (
            <p className="error" data-testid="why-failure">
              <code>{e.failure.code}</code> {e.failure.message}: {e.failure.retry}.
            </p>
          )}
          <p className="muted" data-testid="why-next">
            Next: {e.next}.
          </p>
        </>
      )}
      <h3>Busy holds</h3>
      {holds.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul>
          {holds.map((h) => (
            <li key={h.name} data-testid="hold-row" data-name={h.name}>
              <code>{h.name}</code> until {formatTime(h.expiresAt)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
