import { useEnforcerRuns } from '@sandboxd/react';
import { EmptyRow } from '../components/EmptyRow';
import { ErrorNote } from '../components/ErrorNote';
import { Time } from '../components/Time';

function errorCount(errors: unknown): number {
  if (Array.isArray(errors)) return errors.length;
  if (typeof errors === 'number') return errors;
  return errors ? 1 : 0;
}

function errorText(errors: unknown): string {
  if (Array.isArray(errors)) {
    return errors.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))).join('\n');
  }
  if (errors == null || errors === 0) return '';
  return typeof errors === 'string' ? errors : JSON.stringify(errors);
}

/** Runs of the idle enforcer (newest first). */
export function JobsPage() {
  const runs = useEnforcerRuns(50);
  const rows = runs.data ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Idle enforcer runs</h1>
      </div>
      <ErrorNote error={runs.error} prefix="Could not load the runs" />
      <div className="card table-card">
        <table className="table" data-testid="runs-table">
          <thead>
            <tr>
              <th>Started</th>
              <th>Trigger</th>
              <th>Duration</th>
              <th className="num">Checked</th>
              <th className="num">Paused</th>
              <th className="num">Failed</th>
              <th>Errors</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && <EmptyRow colSpan={7} isPending={runs.isPending} text="No runs yet." />}
            {rows.map((r, i) => {
              const ms = r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : null;
              const n = errorCount(r.errors);
              return (
                <tr key={`${r.startedAt}-${i}`} data-testid="run-row">
                  <td className="nowrap">
                    <Time iso={r.startedAt} />
                  </td>
                  <td data-testid="run-trigger">{r.trigger ?? '—'}</td>
                  <td>{ms === null || Number.isNaN(ms) ? 'running…' : `${ms} ms`}</td>
                  <td className="num">{r.checked}</td>
                  <td className="num">{r.paused}</td>
                  <td className={`num${r.failed ? ' error' : ''}`}>{r.failed}</td>
                  <td title={errorText(r.errors)} className={n ? 'error' : 'muted'}>
                    {n ? errorText(r.errors) : '—'}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
