import { useSandboxHistory } from '@sandboxd/react';
import { EmptyRow } from '../components/EmptyRow';
import { ErrorNote } from '../components/ErrorNote';
import { Time } from '../components/Time';

/** The project's lifecycle events, newest first, with their source and outcome. */
export function HistoryCard({ projectId }: { projectId: string }) {
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
    </div>
  );
}
