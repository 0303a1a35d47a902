import type { Sandbox } from '@sandboxd/client';
import { Countdown } from '../components/Countdown';
import { Time } from '../components/Time';
import { formatSeconds } from '../format';

/**
 * The sandbox's fields: id, template, countdown to the idle pause, idle timeout and policy (when
 * the server has policies), times, last error.
 */
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
        {s.effectiveIdlePolicy && (
          <>
            <dt>Idle policy</dt>
            <dd data-testid="idle-policy">
              {s.effectiveIdlePolicy}
              {s.idlePolicy == null && <span className="muted"> (default)</span>}
            </dd>
          </>
        )}
        <dt>Last activity</dt>
        <dd>
          <Time iso={s.lastActivityAt} testId="last-activity" />
        </dd>
        <dt>Created</dt>
        <dd>
          <Time iso={s.createdAt} />
        </dd>
        <dt>Updated</dt>
        <dd>
          <Time iso={s.updatedAt} />
        </dd>
        {s.lastError && (
          <>
            <dt>Last error</dt>
            <dd className="error" data-testid="last-error">
              <code>{s.lastError.code}</code> {s.lastError.message}{' '}
              <span className="muted">
                <Time iso={s.lastError.at} />
              </span>
            </dd>
          </>
        )}
      </dl>
    </div>
  );
}
