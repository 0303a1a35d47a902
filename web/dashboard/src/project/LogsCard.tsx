import { useEffect, useRef, useState } from 'react';
import { useSandboxClient } from '@sandboxd/react';
import { ErrorNote } from '../components/ErrorNote';

const TAIL = 200;
const FOLLOW_MS = 1000;
const KEEP = 2000;

/**
 * The sandbox's output (local runtime), read only while the panel is open:
 * the last 200 lines, and with Follow on, what it writes next, read on from
 * the server's cursor every second. A read that fails stops following.
 */
export function LogsCard({ projectId }: { projectId: string }) {
  const client = useSandboxClient();
  const [lines, setLines] = useState<string[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const [follow, setFollow] = useState(true);
  const [open, setOpen] = useState(false);
  const cursor = useRef<string | null>(null);

  useEffect(() => {
    if (!open) return undefined;
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      try {
        const r = cursor.current
          ? await client.logs(projectId, { after: cursor.current })
          : await client.logs(projectId, { tail: TAIL });
        if (stopped) return;
        cursor.current = r.cursor;
        setError(null);
        if (r.lines.length > 0) setLines((old) => [...old, ...r.lines].slice(-KEEP));
      } catch (e) {
        if (!stopped) setError(e as Error);
        return;
      }
      if (!stopped && follow) timer = setTimeout(() => void read(), FOLLOW_MS);
    };
    void read();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
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
      <pre className="logs" data-testid="logs-text">
        {lines.length === 0 ? '(no output yet)' : lines.join('\n')}
      </pre>
    </details>
  );
}
