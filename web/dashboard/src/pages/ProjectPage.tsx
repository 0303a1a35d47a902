import { useEffect, useState, type FormEvent } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import type { Sandbox } from '@sandboxd/client';
import {
  sandboxKeys,
  useCreateSandbox,
  useKillSandbox,
  usePauseSandbox,
  useSandboxHistory,
  useSandboxStatus,
  useWakeSandbox,
  type StatusMode,
} from '@sandboxd/react';
import { Countdown } from '../components/Countdown';
import { ErrorNote } from '../components/ErrorNote';
import { StatusPill } from '../components/StatusPill';
import { formatSeconds, formatTime } from '../format';
import { hrefs } from '../router';

const MODE_TEXT: Record<StatusMode, string> = {
  sse: 'live',
  connecting: 'connecting…',
  polling: 'polling',
  hidden: 'paused while tab hidden',
  closed: 'closed',
  off: 'polling',
};

/** One project's sandbox: status, preview (or the Paused panel), actions, history. */
export function ProjectPage({ projectId }: { projectId: string }) {
  const status = useSandboxStatus(projectId);
  const wake = useWakeSandbox(projectId);
  const pause = usePauseSandbox(projectId);
  const kill = useKillSandbox(projectId);
  const { sandbox } = status;
  const queryClient = useQueryClient();

  // Lifecycle events (new history rows) change the status, the sandbox or
  // the last error; activity and presence heartbeats only move lastActivityAt
  // and must not refetch the history every few seconds.
  const historyKey = sandbox
    ? `${sandbox.status}|${sandbox.sandboxId ?? ''}|${sandbox.lastError?.at ?? ''}`
    : undefined;
  useEffect(() => {
    if (historyKey !== undefined) {
      void queryClient.invalidateQueries({ queryKey: sandboxKeys.history(projectId) });
    }
  }, [queryClient, projectId, historyKey]);

  return (
    <section>
      <div className="page-head">
        <div>
          <a href={hrefs.list()} className="muted back">
            ← Sandboxes
          </a>
          <h1>
            Project <code>{projectId}</code>
          </h1>
        </div>
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
      </div>

      {status.error && !status.notFound && <ErrorNote error={status.error} prefix="Could not load the status" />}
      <ErrorNote error={wake.error} prefix="Could not wake" />
      <ErrorNote error={pause.error} prefix="Could not pause" />
      <ErrorNote error={kill.error} prefix="Could not kill" />

      {status.notFound && <CreatePanel projectId={projectId} />}

      {sandbox && (
        <>
          <div className="project-grid">
            <Details sandbox={sandbox} />
            <div className="card actions-card">
              <h2>Actions</h2>
              <div className="row">
                <button
                  type="button"
                  data-testid="pause-button"
                  disabled={sandbox.status !== 'RUNNING' || pause.isPending || status.isWaking}
                  onClick={() => pause.mutate()}
                >
                  {pause.isPending ? 'Pausing…' : 'Pause now'}
                </button>
                <button
                  type="button"
                  className="danger"
                  data-testid="kill-button"
                  disabled={sandbox.status === 'KILLED' || kill.isPending || status.isWaking}
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
          </div>
          <Preview
            sandbox={sandbox}
            isWaking={status.isWaking}
            label={status.statusLabel}
            onWake={() => wake.mutate()}
          />
          <History projectId={projectId} />
        </>
      )}
    </section>
  );
}

function Details({ sandbox: s }: { sandbox: Sandbox }) {
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
          {formatTime(s.updatedAt)} <span className="muted">(v{s.version})</span>
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

/** The seed's preview: the iframe while RUNNING, otherwise a panel (Paused → Wake button). */
function Preview({
  sandbox,
  isWaking,
  label,
  onWake,
}: {
  sandbox: Sandbox;
  isWaking: boolean;
  label: string;
  onWake: () => void;
}) {
  const [reloads, setReloads] = useState(0);
  const { status, url } = sandbox;

  if (status === 'RUNNING' && url && !isWaking) {
    return (
      <div className="card preview">
        <div className="preview-bar">
          <a href={url} target="_blank" rel="noreferrer" className="preview-url" data-testid="preview-url">
            {url}
          </a>
          <button type="button" onClick={() => setReloads((n) => n + 1)} title="Reload the preview">
            Reload
          </button>
        </div>
        <iframe
          key={reloads}
          data-testid="preview-iframe"
          title={`Preview of ${sandbox.projectId}`}
          src={url}
          sandbox="allow-forms allow-scripts allow-same-origin allow-popups allow-modals"
        />
      </div>
    );
  }

  const wakeable = status === 'PAUSED' || status === 'KILLED';
  const title = isWaking
    ? 'Waking…'
    : status === 'PAUSED'
      ? 'Paused'
      : status === 'KILLED'
        ? 'Stopped'
        : status === 'RUNNING'
          ? 'Running (no preview URL)'
          : label;
  const text = isWaking
    ? 'Resuming the sandbox; the preview appears as soon as it runs.'
    : status === 'PAUSED'
      ? 'This sandbox was paused because nobody used it. Wake it to continue where it left off.'
      : status === 'KILLED'
        ? 'This sandbox was stopped. Waking it starts a new one.'
        : status === 'STARTING'
          ? 'The sandbox is starting…'
          : status === 'PAUSING'
            ? 'The sandbox is pausing…'
            : '';
  return (
    <div className={`card preview-panel panel-${status.toLowerCase()}`} data-testid="preview-panel" data-status={status}>
      <h2>{title}</h2>
      {text && <p className="muted">{text}</p>}
      {(wakeable || isWaking) && (
        <button type="button" className="primary big" data-testid="wake-button" disabled={isWaking} onClick={onWake}>
          {isWaking ? 'Waking…' : status === 'KILLED' ? 'Start again' : 'Wake'}
        </button>
      )}
    </div>
  );
}

function CreatePanel({ projectId }: { projectId: string }) {
  const create = useCreateSandbox(projectId);
  const [template, setTemplate] = useState('hello');
  const [idle, setIdle] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const seconds = Number.parseInt(idle, 10);
    create.mutate({
      ...(template.trim() ? { template: template.trim() } : {}),
      ...(Number.isFinite(seconds) && seconds > 0 ? { idleTimeoutSeconds: seconds } : {}),
    });
  };
  return (
    <form className="card preview-panel" data-testid="create-panel" onSubmit={submit}>
      <h2>No sandbox yet</h2>
      <p className="muted">This project has never had a sandbox.</p>
      <div className="row center-row">
        <label className="inline">
          Template{' '}
          <input value={template} onChange={(e) => setTemplate(e.target.value)} size={10} data-testid="create-template-input" />
        </label>
        <label className="inline">
          Idle timeout (s){' '}
          <input
            value={idle}
            onChange={(e) => setIdle(e.target.value)}
            placeholder="default"
            inputMode="numeric"
            size={7}
            data-testid="create-idle-input"
          />
        </label>
        <button type="submit" className="primary" data-testid="create-button" disabled={create.isPending}>
          {create.isPending ? 'Creating…' : 'Create sandbox'}
        </button>
      </div>
      <ErrorNote error={create.error} prefix="Could not create" />
    </form>
  );
}

function History({ projectId }: { projectId: string }) {
  const history = useSandboxHistory(projectId);
  const events = history.data ?? [];
  return (
    <div className="card table-card">
      <h2>History</h2>
      <ErrorNote error={history.error} prefix="Could not load the history" />
      <table className="table" data-testid="history-table">
        <thead>
          <tr>
            <th>At</th>
            <th>Type</th>
            <th>Source</th>
            <th>Outcome</th>
            <th>Status</th>
          </tr>
        </thead>
        <tbody>
          {events.length === 0 && (
            <tr>
              <td colSpan={5} className="muted center">
                {history.isPending ? 'Loading…' : 'No events.'}
              </td>
            </tr>
          )}
          {events.map((e, i) => (
            <tr key={`${e.id}-${i}`} data-testid="history-row" data-outcome={e.outcome}>
              <td className="nowrap">{formatTime(e.at)}</td>
              <td>
                <code>{e.type}</code>
              </td>
              <td>{e.source}</td>
              <td>
                <span className={`outcome outcome-${e.outcome}`}>{e.outcome}</span>
              </td>
              <td>{e.status ?? '—'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
