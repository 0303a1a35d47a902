import { useEnforcerRunPages } from '@sandboxd/react';
import { EmptyRow } from '../components/EmptyRow';
import { ErrorNote } from '../components/ErrorNote';
import { Time } from '../components/Time';
import { hrefs } from '../router';

/** Runs per page: the first page on load, one more per "Older runs". */
const PAGE = 50;

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

/** The projects a run paused, as links to their pages. */
function PausedProjects({ projects }: { projects: string[] | undefined }) {
  if (!projects || projects.length === 0) return <span className="muted">—</span>;
  return (
    <>
      {projects.map((p, i) => (
        <span key={p}>
          {i > 0 && ', '}
          <a href={hrefs.project(p)} className="project-link">
            {p}
          </a>
        </span>
      ))}
    </>
  );
}

/** Runs of the idle enforcer (newest first); "Older runs" reads on, a page at a time. */
export function JobsPage() {
  const runs = useEnforcerRunPages(PAGE);
  const rows = runs.data?.pages.flatMap((p) => p.runs) ?? [];
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
              <th>Paused projects</th>
              <th>Errors</th>
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 && <EmptyRow colSpan={8} isPending={runs.isPending} text="No runs yet." />}
            {rows.map((r) => {
              const ms = r.finishedAt ? Date.parse(r.finishedAt) - Date.parse(r.startedAt) : null;
              const n = errorCount(r.errors);
              return (
                <tr key={r.id} data-testid="run-row" data-run-id={r.id}>
                  <td className="nowrap">
                    <Time iso={r.startedAt} />
                  </td>
                  <td data-testid="run-trigger">{r.trigger ?? '—'}</td>
                  <td>{ms === null || Number.isNaN(ms) ? 'running…' : `${ms} ms`}</td>
                  <td className="num">{r.checked}</td>
                  <td className="num">{r.paused}</td>
                  <td className={`num${r.failed ? ' error' : ''}`}>{r.failed}</td>
                  <td data-testid="run-paused-projects">
                    <PausedProjects projects={r.pausedProjects} />
                  </td>
                  <td title={errorText(r.errors)} className={n ? 'error run-errors' : 'muted'} data-testid="run-errors">
                    {n ? errorText(r.errors) : '—'}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {runs.hasNextPage && (
        <div className="row pager">
          <button
            type="button"
            data-testid="runs-older"
            disabled={runs.isFetchingNextPage}
            onClick={() => void runs.fetchNextPage()}
          >
            {runs.isFetchingNextPage ? 'Loading…' : 'Older runs'}
          </button>
        </div>
      )}
    </section>
  );
}
