import { useEffect, useState } from 'react';
import type { SandboxLogs } from '@sandboxd/client';
import { useSandboxClient } from '@sandboxd/react';
import { ErrorNote } from '../components/ErrorNote';

const TAIL = 200;
const KEEP = 2000;

/**
 * The sandbox's output (local runtime), read only while the panel is open:
 * the last 200 lines, and with Follow on, each line as it is written, over
 * the output stream (`…/logs?follow=1`, which EventSource resumes from its
 * last cursor after a dropped connection).
 */
export function LogsCard({ projectId }: { projectId: string }) {
  const client = useSandboxClient();
  const [lines, setLines] = useState<string[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [note, setNote] = useState<string | null>(null);
  const [follow, setFollow] = useState(true);
  const [open, setOpen] = useState(false);

  useEffect(() => {
    if (!open) return undefined;
    setLines([]);
    setNote(null);
    if (!follow) {
      let stopped = false;
      client.logs(projectId, { tail: TAIL }).then(
        (r) => {
          if (stopped) return;
          setError(null);
          setLines(r.lines);
        },
        (e: unknown) => {
          if (!stopped) setError(e as Error);
        },
      );
      return () => {
        stopped = true;
      };
    }
    const source = new EventSource(client.logsFollowUrl(projectId, TAIL));
    source.addEventListener('lines', (ev) => {
      const r = JSON.parse((ev as MessageEvent<string>).data) as SandboxLogs;
      setError(null);
      if (r.lines.length > 0) setLines((old) => [...old, ...r.lines].slice(-KEEP));
    });
    source.addEventListener('end', (ev) => {
      const e = JSON.parse((ev as MessageEvent<string>).data) as { message: string };
      setNote(`Output ended: ${e.message}`);
      source.close();
    });
    source.onerror = () => {
      // EventSource reconnects by itself; once it gives up (a 4xx), read once
      // to say why.
      if (source.readyState === EventSource.CLOSED) {
        client.logs(projectId, { tail: 1 }).catch((e: unknown) => setError(e as Error));
      }
    };
    return () => source.close();
  }, [client, projectId, follow, open]);

  return (
    <details
      className="card"
      data-testid="logs-card"
      onToggle={(ev) => setOpen((ev.target as HTMLDetailsElement).open)}
    >
      <summary>
        <h2 className="inline">Output</h2>
      </summary>
      <div className="card-head">
        <label>
          <input
            type="checkbox"
            checked={follow}
            onChange={(ev) => setFollow(ev.target.checked)}
            data-testid="logs-follow"
          />{' '}
          Follow
        </label>
      </div>
      <ErrorNote error={error} prefix="Could not read the output" />
      {note && <p className="muted">{note}</p>}
      <pre className="logs" data-testid="logs-text">
        {lines.length === 0 ? '(no output yet)' : lines.join('\n')}
      </pre>
    </details>
  );
}
