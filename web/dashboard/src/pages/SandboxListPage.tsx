import { useState } from 'react';
import { SANDBOX_STATUSES, type Sandbox, type SandboxStatus } from '@sandboxd/client';
import { useSandboxAction, useSandboxList } from '@sandboxd/react';
import { Countdown, useNow } from '../components/Countdown';
import { CreateSandboxForm } from '../components/CreateSandboxForm';
import { ErrorNote } from '../components/ErrorNote';
import { StatusPill } from '../components/StatusPill';
import { formatAge, formatSeconds, formatTime, formatUptime } from '../format';
import { unexpiredHolds } from '../holds';
import { DEFAULT_ORDER, ariaSort, nextOrder, sortSandboxes, type SortKey, type SortOrder } from '../list/sort';
import { hrefs } from '../router';

type Action = 'wake' | 'pause' | 'kill';

export function SandboxListPage() {
  const [status, setStatus] = useState<SandboxStatus | ''>('');
  const [cursors, setCursors] = useState<string[]>([]); // stack of page cursors
  const cursor = cursors[cursors.length - 1];
  const list = useSandboxList({ ...(status ? { status } : {}), ...(cursor ? { cursor } : {}), limit: 50 });
  const action = useSandboxAction();
  const pending = action.isPending ? action.variables : undefined;
  const now = useNow(5_000);

  const [search, setSearch] = useState('');
  const [hideKilled, setHideKilled] = useState(false);
  const [order, setOrder] = useState<SortOrder>(DEFAULT_ORDER);
  const run = (projectId: string, a: Action) => action.mutate({ projectId, action: a });
  // Search and "hide killed" narrow the page shown, and the column headers sort it; the status
  // filter asks the server.
  const rows = sortSandboxes(
    (list.data?.sandboxes ?? []).filter(
      (s) => s.projectId.includes(search.trim()) && !(hideKilled && s.status === 'KILLED'),
    ),
    order,
  );
  const header = (key: SortKey, label: string, className?: string) => (
    <SortHeader
      sortKey={key}
      label={label}
      order={order}
      onSort={(k) => setOrder((o) => nextOrder(o, k))}
      className={className}
    />
  );

  return (
    <section>
      <div className="page-head">
        <h1>Sandboxes</h1>
        <div className="row">
          <input
            type="search"
            placeholder="Search projects"
            data-testid="project-search"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            size={16}
          />
          <label className="inline">
            <input
              type="checkbox"
              data-testid="hide-killed"
              checked={hideKilled}
              onChange={(e) => setHideKilled(e.target.checked)}
            />{' '}
            Hide killed
          </label>
          <label className="inline">
            Status{' '}
            <select
              data-testid="status-filter"
              value={status}
              onChange={(e) => {
                setStatus(e.target.value as SandboxStatus | '');
                setCursors([]);
              }}
            >
              <option value="">all</option>
              {SANDBOX_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        </div>
      </div>

      <CreateSandboxForm />

      <ErrorNote error={list.error} prefix="Could not list sandboxes" />
      <ErrorNote error={action.error} prefix={`Could not ${action.variables?.action ?? 'do that'}`} />

      <div className="card table-card">
        <table className="table" data-testid="sandbox-table">
          <thead>
            <tr>
              {header('project', 'Project')}
              {header('status', 'Status')}
              {header('pausesIn', 'Pauses in')}
              {header('uptime', 'Uptime', 'wide-only')}
              <th className="wide-only">Preview</th>
              {header('template', 'Template', 'wide-only')}
              {header('idleTimeout', 'Idle timeout')}
              {header('lastActivity', 'Last activity', 'wide-only')}
              <th className="actions-col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {list.isPending && (
              <tr>
                <td colSpan={9} className="muted center">
                  Loading…
                </td>
              </tr>
            )}
            {!list.isPending && rows.length === 0 && (
              <tr>
                <td colSpan={9} className="muted center" data-testid="empty-list">
                  {search.trim() || hideKilled
                    ? 'No sandbox on this page matches.'
                    : `No sandboxes${status ? ` with status ${status}` : ''} yet.`}
                </td>
              </tr>
            )}
            {rows.map((s) => (
              <SandboxRow
                key={s.projectId}
                sandbox={s}
                now={now}
                pending={pending?.projectId === s.projectId ? pending.action : undefined}
                onAction={run}
              />
            ))}
          </tbody>
        </table>
      </div>

      <div className="row pager">
        {cursors.length > 0 && (
          <button type="button" onClick={() => setCursors((c) => c.slice(0, -1))}>
            ← Previous
          </button>
        )}
        {list.data?.nextCursor && (
          <button type="button" data-testid="next-page" onClick={() => setCursors((c) => [...c, list.data!.nextCursor!])}>
            Next →
          </button>
        )}
      </div>
    </section>
  );
}

function SandboxRow({
  sandbox: s,
  now,
  pending,
  onAction,
}: {
  sandbox: Sandbox;
  now: number;
  pending: Action | undefined;
  onAction: (projectId: string, action: Action) => void;
}) {
  const busy = pending !== undefined;
  const awake = s.status === 'RUNNING' || s.status === 'PAUSING';
  // Holds are visible everywhere: the list says which keep a sandbox awake.
  const holds = awake ? unexpiredHolds(s, now) : [];
  return (
    <tr data-testid={`sandbox-row-${s.projectId}`} data-status={s.status}>
      <td>
        <a href={hrefs.project(s.projectId)} className="project-link">
          {s.projectId}
        </a>
        {s.lastError && (
          <span className="error-dot" title={`${s.lastError.code}: ${s.lastError.message}`}>
            !
          </span>
        )}
      </td>
      <td>
        <StatusPill status={s.status} isWaking={pending === 'wake'} />
      </td>
      <td>
        <Countdown pauseAt={s.status === 'RUNNING' ? s.pauseAt : null} />
        {holds.length > 0 && (
          <span
            className="hold-badge"
            data-testid="holds"
            title={holds.map((h) => `${h.name} until ${formatTime(h.expiresAt)}`).join('\n')}
          >
            held: {holds.map((h) => h.name).join(', ')}
          </span>
        )}
      </td>
      <td
        className="muted wide-only nowrap"
        data-testid="uptime"
        title={awake && s.runningSince ? `Running since ${formatTime(s.runningSince)}` : undefined}
      >
        {formatUptime(awake ? s.runningSince : null, now)}
      </td>
      <td className="url-cell wide-only">
        {s.url && s.status !== 'KILLED' ? (
          <a href={s.url} target="_blank" rel="noreferrer" data-testid="sandbox-url">
            {s.url}
          </a>
        ) : (
          <span className="muted">—</span>
        )}
      </td>
      <td className="wide-only">{s.template}</td>
      <td data-testid="idle-timeout">{formatSeconds(s.idleTimeoutSeconds)}</td>
      <td className="muted wide-only">{formatAge(s.lastActivityAt, now)}</td>
      <td className="actions">
        <button
          type="button"
          data-testid="wake-button"
          disabled={busy || !(s.status === 'PAUSED' || s.status === 'KILLED')}
          onClick={() => onAction(s.projectId, 'wake')}
        >
          {pending === 'wake' ? 'Waking…' : 'Wake'}
        </button>
        <button
          type="button"
          data-testid="pause-button"
          disabled={busy || s.status !== 'RUNNING'}
          onClick={() => onAction(s.projectId, 'pause')}
        >
          {pending === 'pause' ? 'Pausing…' : 'Pause'}
        </button>
        <button
          type="button"
          className="danger"
          data-testid="kill-button"
          disabled={busy || s.status === 'KILLED'}
          onClick={() => {
            // Never one click: a kill ends the sandbox and everything in it.
            if (window.confirm(`Kill the sandbox of project ${s.projectId}? Everything in it is lost.`)) {
              onAction(s.projectId, 'kill');
            }
          }}
        >
          {pending === 'kill' ? 'Killing…' : 'Kill…'}
        </button>
      </td>
    </tr>
  );
}

/** A column header that sorts the rows: click to sort by it, click again to reverse. */
function SortHeader({
  sortKey,
  label,
  order,
  onSort,
  className,
}: {
  sortKey: SortKey;
  label: string;
  order: SortOrder;
  onSort: (key: SortKey) => void;
  className?: string;
}) {
  const sort = ariaSort(order, sortKey);
  return (
    <th className={className} aria-sort={sort}>
      <button type="button" className="sort" data-testid={`sort-${sortKey}`} onClick={() => onSort(sortKey)}>
        {label}
        <span className="sort-mark" aria-hidden="true">
          {sort === 'ascending' ? '▲' : sort === 'descending' ? '▼' : ''}
        </span>
      </button>
    </th>
  );
}
