import { useEffect, useState } from 'react';
import type { HistoryEvent } from '@sandboxd/client';
import { useSandboxClient, useSandboxHistory } from '@sandboxd/react';
import { EmptyRow } from '../components/EmptyRow';
import { ErrorNote } from '../components/ErrorNote';
import { Time } from '../components/Time';

/** The server's page size when the history query names none. */
const FIRST_PAGE = 100;

/**
 * The project's lifecycle events, newest first, with their source and outcome; "Older events"
 * reads on, a page at a time, from the last one shown.
 */
export function HistoryCard({ projectId }: { projectId: string }) {
  const client = useSandboxClient();
  const history = useSandboxHistory(projectId);
  const [older, setOlder] = useState<HistoryEvent[]>([]);
  const [olderError, setOlderError] = useState<Error | null>(null);
  const [end, setEnd] = useState(false);
  // A refetched first page starts the older pages over.
  useEffect(() => {
    setOlder([]);
    setEnd(false);
  }, [history.data]);
  const first = history.data ?? [];
  const events = [...first, ...older];
  const lastSeq = events.length > 0 ? (events[events.length - 1]!['seq'] as number | undefined) : undefined;
  const more = !end && first.length >= FIRST_PAGE && typeof lastSeq === 'number';
  const loadOlder = async () => {
    try {
      const page = await client.historyPage(projectId, { before: lastSeq, limit: FIRST_PAGE });
      setOlderError(null);
      setOlder((o) => [...o, ...page.events]);
      if (!page.nextBefore) setEnd(true);
    } catch (e) {
      setOlderError(e as Error);
    }
  };
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
            <th>Sandbox</th>
            <th>Detail</th>
          </tr>
        </thead>
        <tbody>
          {events.length === 0 && <EmptyRow colSpan={7} isPending={history.isPending} text="No events." />}
          {events.map((e, i) => (
            <tr key={`${e.id}-${i}`} data-testid="history-row" data-outcome={e.outcome}>
              <td className="nowrap">
                <Time iso={e.at} />
              </td>
              <td>
                <code>{e.type}</code>
              </td>
              <td>{e.source}</td>
              <td>
                <span className={`outcome outcome-${e.outcome}`}>{e.outcome}</span>
              </td>
              <td>{e.status ?? '—'}</td>
              <td>
                <code className="small">{typeof e['sandboxId'] === 'string' ? e['sandboxId'] : ''}</code>
              </td>
              <td className="small" data-testid="history-detail">
                {typeof e['detail'] === 'string' ? e['detail'] : ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <ErrorNote error={olderError} prefix="Could not load older events" />
      {more && (
        <div className="row pager">
          <button type="button" data-testid="history-older" onClick={() => void loadOlder()}>
            Older events
          </button>
        </div>
      )}
    </div>
  );
}
