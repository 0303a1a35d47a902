import { useState } from 'react';
import { IDLE_POLICIES, type IdlePolicy, type Sandbox } from '@sandboxd/client';
import type {
  useForgetProject,
  useKeepAwake,
  useKillSandbox,
  usePauseSandbox,
  useSetIdlePolicy,
  useSetIdleTimeout,
} from '@sandboxd/react';
import { ErrorNote } from '../components/ErrorNote';
import { formatSeconds, parseDuration } from '../format';
import { POLICY_HINTS } from '../policy/data';
import { ForgetProject } from './ForgetProject';

/**
 * Pause, Keep awake, the idle timeout and policy, and Kill; once KILLED, Forget. Kill is never one
 * click: it asks for the project id first; neither is Forget (ForgetProject). The page owns the
 * pause, kill and forget mutations: it shows their errors above everything else.
 */
export function ActionsCard({
  sandbox,
  isWaking,
  pause,
  kill,
  keepAwake,
  setIdleTimeout,
  setIdlePolicy,
  forget,
  onForget,
}: {
  sandbox: Sandbox;
  isWaking: boolean;
  pause: ReturnType<typeof usePauseSandbox>;
  kill: ReturnType<typeof useKillSandbox>;
  keepAwake: ReturnType<typeof useKeepAwake>;
  setIdleTimeout: ReturnType<typeof useSetIdleTimeout>;
  setIdlePolicy: ReturnType<typeof useSetIdlePolicy>;
  forget: ReturnType<typeof useForgetProject>;
  onForget: (removeHistory: boolean) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [typed, setTyped] = useState('');
  const [timeout, setTimeoutText] = useState('');
  const [badTimeout, setBadTimeout] = useState(false);
  const running = sandbox.status === 'RUNNING';

  const saveTimeout = (ev: React.FormEvent) => {
    ev.preventDefault();
    const seconds = parseDuration(timeout);
    setBadTimeout(seconds === null);
    if (seconds !== null) {
      setIdleTimeout.mutate(seconds, { onSuccess: () => setTimeoutText('') });
    }
  };

  return (
    <div className="card actions-card">
      <h2>Actions</h2>
      <div className="row">
        <button
          type="button"
          data-testid="pause-button"
          disabled={!running || pause.isPending || isWaking}
          onClick={() => pause.mutate()}
        >
          {pause.isPending ? 'Pausing…' : 'Pause now'}
        </button>
        <button
          type="button"
          data-testid="keep-awake-action"
          disabled={!running || keepAwake.isPending}
          onClick={() => keepAwake.mutate()}
          title={`Counts as activity: the sandbox pauses ${formatSeconds(sandbox.idleTimeoutSeconds)} from now at the earliest`}
        >
          Keep awake
        </button>
        <button
          type="button"
          className="danger"
          data-testid="kill-button"
          disabled={sandbox.status === 'KILLED' || kill.isPending || isWaking || confirming}
          onClick={() => {
            setTyped('');
            setConfirming(true);
          }}
        >
          {kill.isPending ? 'Killing…' : 'Kill…'}
        </button>
      </div>
      {confirming && (
        <form
          className="confirm-kill"
          data-testid="kill-confirm"
          onSubmit={(ev) => {
            ev.preventDefault();
            if (typed !== sandbox.projectId) return;
            setConfirming(false);
            kill.mutate();
          }}
        >
          <label>
            Killing ends the sandbox and everything in it. Type <code>{sandbox.projectId}</code> to
            confirm:{' '}
            <input
              data-testid="kill-confirm-input"
              value={typed}
              onChange={(ev) => setTyped(ev.target.value)}
              autoFocus
            />
          </label>{' '}
          <button
            type="submit"
            className="danger"
            data-testid="kill-confirm-button"
            disabled={typed !== sandbox.projectId}
          >
            Kill sandbox
          </button>{' '}
          <button type="button" data-testid="kill-cancel" onClick={() => setConfirming(false)}>
            Cancel
          </button>
        </form>
      )}
      {sandbox.status === 'KILLED' && (
        <ForgetProject projectId={sandbox.projectId} forget={forget} onForget={onForget} />
      )}
      <form className="row idle-timeout" onSubmit={saveTimeout}>
        <label>
          Idle timeout{' '}
          <input
            data-testid="idle-timeout-input"
            placeholder={formatSeconds(sandbox.idleTimeoutSeconds)}
            value={timeout}
            onChange={(ev) => {
              setTimeoutText(ev.target.value);
              setBadTimeout(false);
            }}
            size={8}
          />
        </label>
        <button type="submit" data-testid="idle-timeout-save" disabled={timeout.trim() === '' || setIdleTimeout.isPending}>
          Save
        </button>
      </form>
      {badTimeout && (
        <p className="error" role="alert" data-testid="idle-timeout-error">
          Write a duration like 90s, 3m or 1h30m (up to 30 days).
        </p>
      )}
      <ErrorNote error={setIdleTimeout.error} prefix="Could not change the idle timeout" />
      {sandbox.effectiveIdlePolicy && (
        <IdlePolicySelect sandbox={sandbox} effective={sandbox.effectiveIdlePolicy} setIdlePolicy={setIdlePolicy} />
      )}
      <ErrorNote error={setIdlePolicy.error} prefix="Could not change the idle policy" />
      <ErrorNote error={keepAwake.error} prefix="Could not keep it awake" />
      {(running || sandbox.status === 'STARTING') && (
        <p className="muted small" data-testid="presence-note">
          While this page is open and visible it keeps the sandbox alive; it pauses{' '}
          {formatSeconds(sandbox.idleTimeoutSeconds)} after the last viewer leaves.
        </p>
      )}
    </div>
  );
}

/** The select's value for the deployment default (no policy is called that). */
const DEFAULT_CHOICE = 'default';

/**
 * The project's idle policy: the deployment default or one of its own. A choice is saved at once
 * (PATCH idlePolicy, null for the default); while it saves, the select shows it and waits.
 */
function IdlePolicySelect({
  sandbox,
  effective,
  setIdlePolicy,
}: {
  sandbox: Sandbox;
  /** The policy that applies now (the sandbox's `effectiveIdlePolicy`). */
  effective: IdlePolicy;
  setIdlePolicy: ReturnType<typeof useSetIdlePolicy>;
}) {
  const chosen = setIdlePolicy.isPending ? setIdlePolicy.variables : sandbox.idlePolicy;
  return (
    <div className="idle-policy">
      <label>
        Idle policy{' '}
        <select
          data-testid="idle-policy-select"
          value={chosen ?? DEFAULT_CHOICE}
          disabled={setIdlePolicy.isPending}
          onChange={(ev) => {
            const value = ev.target.value;
            setIdlePolicy.mutate(value === DEFAULT_CHOICE ? null : (value as IdlePolicy));
          }}
        >
          {/* The sandbox names the default only while it runs with it. */}
          <option value={DEFAULT_CHOICE}>
            {sandbox.idlePolicy == null ? `Deployment default (${effective})` : 'Deployment default'}
          </option>
          {IDLE_POLICIES.map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      {setIdlePolicy.isPending && <span className="muted small"> Saving…</span>}
      <p className="muted small" data-testid="idle-policy-hint">
        {effective}: {POLICY_HINTS[effective]}.
      </p>
    </div>
  );
}
