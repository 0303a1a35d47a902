import { useState } from 'react';
import type { Sandbox, SandboxStatus } from '@sandboxd/client';

const PANEL_TITLE: Partial<Record<SandboxStatus, string>> = {
  PAUSED: 'Paused',
  KILLED: 'Killed',
  RUNNING: 'Running (no preview URL)',
};

const PANEL_TEXT: Partial<Record<SandboxStatus, string>> = {
  PAUSED: 'This sandbox is paused. Wake it to continue where it left off.',
  KILLED: 'This sandbox was killed. Waking it starts a new one.',
  STARTING: 'The sandbox is starting…',
  PAUSING: 'The sandbox is pausing…',
};

const WAKING_TEXT = 'Resuming the sandbox; the preview appears as soon as it runs.';
const FRAME_WAKING_TEXT = 'Waking… the preview shows the app as soon as it answers.';

/** The iframe's address: the gateway URL, with the traffic token when previews need one. */
export function previewSrc(sandbox: Sandbox): string | null {
  if (!sandbox.url) return null;
  if (!sandbox.trafficAccessToken) return sandbox.url;
  // The gateway turns the query into a cookie for the preview's origin and redirects.
  const sep = sandbox.url.includes('?') ? '&' : '?';
  return `${sandbox.url}${sep}sandboxd_preview_token=${encodeURIComponent(sandbox.trafficAccessToken)}`;
}

/**
 * The idle timeout (seconds) a decision was taken with: its inputs' `record.idleTimeoutSeconds`,
 * which stays true after the timeout is changed; null when the decision did not store one.
 */
export function decidedIdleTimeoutSeconds(cause: { inputs?: Record<string, unknown> } | null | undefined): number | null {
  const record = cause?.inputs?.['record'];
  if (typeof record !== 'object' || record === null) return null;
  const seconds = (record as Record<string, unknown>)['idleTimeoutSeconds'];
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds : null;
}

/**
 * The hold that kept the sandbox awake until the decision's `record.pauseAt` (its expiry is that
 * time): the pause came when it expired, not an idle timeout after the last activity.
 */
function holdThatEnded(cause: { inputs?: Record<string, unknown> }): string | null {
  const record = cause.inputs?.['record'];
  if (typeof record !== 'object' || record === null) return null;
  const { pauseAt, holds } = record as Record<string, unknown>;
  if (typeof pauseAt !== 'string' || typeof holds !== 'object' || holds === null) return null;
  const ended = Object.entries(holds).find(([, expires]) => expires === pauseAt);
  return ended === undefined ? null : ended[0];
}

/**
 * Why a PAUSED sandbox was paused, in words true to who did it (the cause of
 * GET …/explain); null when not known yet.
 */
export function pausedBecause(
  cause: { source: string; inputs?: Record<string, unknown> } | null | undefined,
  idleTimeout: string,
): string | null {
  switch (cause?.source) {
    case 'enforcer': {
      const hold = holdThatEnded(cause);
      return hold === null
        ? `It was paused after ${idleTimeout} without activity.`
        : `It was paused when the hold “${hold}” expired, after ${idleTimeout} without activity.`;
    }
    case 'api':
      return 'It was paused on request (Pause now, sandboxctl pause or the API).';
    case 'webhook':
      return 'The provider paused it (its own timeout, or a client outside sandboxd).';
    case 'reconciler':
      return 'sandboxd found it paused at the provider.';
    default:
      return null;
  }
}

/**
 * The preview: the gateway URL in an iframe while RUNNING, and at once while it wakes (STARTING,
 * or a Wake clicked here): the gateway holds the page with its own "Waking up…" page until the
 * app answers. A paused sandbox shows a panel with Wake instead, so opening the dashboard wakes
 * nothing by itself.
 */
export function Preview({
  sandbox,
  isWaking,
  label,
  onWake,
  because,
}: {
  sandbox: Sandbox;
  isWaking: boolean;
  /** The status label, the panel's title while STARTING or PAUSING. */
  label: string;
  onWake: () => void;
  /** Who paused it, in words (pausedBecause), when known. */
  because?: string | null;
}) {
  const [reloads, setReloads] = useState(0);
  const { status, url } = sandbox;
  const src = previewSrc(sandbox);
  const waking = status === 'STARTING' || (status === 'PAUSED' && isWaking);

  if (url && src && (status === 'RUNNING' || waking)) {
    return (
      <div className="card preview">
        <div className="preview-bar">
          <a href={src} target="_blank" rel="noreferrer" className="preview-url" data-testid="preview-url">
            {url}
          </a>
          {waking && (
            <span className="preview-waking" data-testid="preview-waking">
              {FRAME_WAKING_TEXT}
            </span>
          )}
          <button type="button" onClick={() => setReloads((n) => n + 1)} title="Reload the preview">
            Reload
          </button>
        </div>
        <iframe
          key={reloads}
          data-testid="preview-iframe"
          title={`Preview of ${sandbox.projectId}`}
          src={src}
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
      {status === 'PAUSED' && !isWaking && because && (
        <p className="muted" data-testid="paused-because">
          {because}
        </p>
      )}
      {(wakeable || isWaking) && (
        <button type="button" className="primary big" data-testid="wake-button" disabled={isWaking} onClick={onWake}>
          {isWaking ? 'Waking…' : 'Wake'}
        </button>
      )}
    </div>
  );
}
