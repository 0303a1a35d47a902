import type { Sandbox } from '@sandboxd/client';
import { Countdown } from '../components/Countdown';
import { formatSeconds, formatTime } from '../format';

/** The sandbox's fields: id, template, countdown to the idle pause, times, last error. */
export function DetailsCard({ sandbox: s }: { sandbox: Sandbox }) {
  return (
    <div className="card">
      <h2>Sandbox</h2>
      <dl className="details">
        <dt>Sandbox id</dt>
        <dd>
          <code>{s.sandboxId}</code>
        </dd>
        <dt>Template</dt>
        <dd>{s.template}</dd>
        <dt>Pauses in</dt>
        <dd>
          <Countdown pauseAt={s.status === 'RUNNING' ? s.pauseAt : null} />
        </dd>
        <dt>Idle timeout</dt>
        <dd>{formatSeconds(s.idleTimeoutSeconds)}</dd>
        <dt>Last activity</dt>
        <dd>{formatTime(s.lastActivityAt)}</dd>
        <dt>Created</dt>
        <dd>{formatTime(s.createdAt)}</dd>
        <dt>Updated</dt>
        <dd>
          {formatTime(s.updatedAt)}
        </dd>
        {s.lastError && (
          <>
            <dt>Last error</dt>
            <dd className="error" data-testid="last-error">
              <code>{s.lastError.code}</code> {s.lastError.message}{' '}
              <span className="muted">{formatTime(s.lastError.at)}</span>
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}
