import { useState } from 'react';
import type { Sandbox, SandboxStatus } from '@sandboxd/client';

const PANEL_TITLE: Partial<Record<SandboxStatus, string>> = {
  PAUSED: 'Paused',
  KILLED: 'Stopped',
  RUNNING: 'Running (no preview URL)',
};

const PANEL_TEXT: Partial<Record<SandboxStatus, string>> = {
  PAUSED: 'This sandbox was paused because nobody used it. Wake it to continue where it left off.',
  KILLED: 'This sandbox was stopped. Waking it starts a new one.',
  STARTING: 'The sandbox is starting…',
  PAUSING: 'The sandbox is pausing…',
};

const WAKING_TEXT = 'Resuming the sandbox; the preview appears as soon as it runs.';

/** The seed's preview: the iframe while RUNNING, otherwise a panel (Paused → Wake button). */
export function Preview({
  sandbox,
  isWaking,
  label,
  onWake,
}: {
  sandbox: Sandbox;
  isWaking: boolean;
  /** The status label, the panel's title while STARTING or PAUSING. */
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
  const title = isWaking ? 'Waking…' : (PANEL_TITLE[status] ?? label);
  const text = isWaking ? WAKING_TEXT : (PANEL_TEXT[status] ?? '');
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
