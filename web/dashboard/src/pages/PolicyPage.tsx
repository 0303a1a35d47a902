import { useState, type ReactNode } from 'react';
import type { IdlePolicy, PolicyReplay, PolicyReport } from '@sandboxd/client';
import { usePolicyReport } from '@sandboxd/react';
import { EmptyRow } from '../components/EmptyRow';
import { ErrorNote } from '../components/ErrorNote';
import { Time } from '../components/Time';
import { formatMs, formatSeconds } from '../format';
import {
  DEFAULT_SPAN,
  POLICY_SPANS,
  REPLAY_ROWS,
  SPAN_NAMES,
  isQuiet,
  minutesAsHours,
  regretShare,
  reportSpan,
  spanLabel,
  type PolicySpan,
} from '../policy/data';
import { hrefs } from '../router';

/**
 * What idle pausing did over the last day, week or month (GET /api/policy/report, refreshed every
 * minute): idle pauses, regret wakes, resume waits and the hours saved, the projects that regret
 * most, and the deployment's default idle policy replayed beside its shadow. While another span
 * loads the last one stays, labelled by what it is.
 */
export function PolicyPage() {
  const [span, setSpan] = useState<PolicySpan>(DEFAULT_SPAN);
  const report = usePolicyReport(span);
  const r = report.data;
  return (
    <section>
      <div className="page-head">
        <div>
          <h1>Idle policy</h1>
          {r && (
            <p className="muted small" data-testid="policy-span">
              {spanLabel(r)} · from <Time iso={r.from} /> to now · a wake within{' '}
              {formatSeconds(r.regretWindowSeconds)} of an idle pause is a regret wake
            </p>
          )}
        </div>
        <div className="row">
          {report.isPlaceholderData && <span className="muted small">Loading {SPAN_NAMES[span].toLowerCase()}…</span>}
          <div className="toggle" role="group" aria-label="Since">
            {POLICY_SPANS.map((s) => (
              <button
                key={s}
                type="button"
                data-testid={`since-${s}`}
                aria-pressed={span === s}
                className={span === s ? 'primary' : ''}
                onClick={() => setSpan(s)}
              >
                {SPAN_NAMES[s]}
              </button>
            ))}
          </div>
        </div>
      </div>
      <ErrorNote error={report.error} prefix="Could not load the policy report" />
      {!r && !report.error && <p className="muted center">Loading…</p>}
      {r && <Report report={r} />}
    </section>
  );
}

function Report({ report: r }: { report: PolicyReport }) {
  const quiet = isQuiet(r);
  return (
    <div data-testid="policy" data-since={reportSpan(r)}>
      {r.truncated && (
        <p className="error" role="alert" data-testid="policy-truncated">
          Too many events in this span: nothing before <Time iso={r.coveredFrom} /> is counted.
        </p>
      )}
      {r.policy && <Policies policy={r.policy} />}
      {quiet ? (
        <p className="card muted center" data-testid="policy-empty">
          Nothing to report for {spanLabel(r)}: no sandbox was paused or woken.
        </p>
      ) : (
        <>
          <Totals report={r} />
          <TopProjects report={r} />
          {r.replay && <Replay replay={r.replay} policy={r.policy} />}
        </>
      )}
    </div>
  );
}

/** The deployment's default idle policy, and the shadow replayed beside it. */
function Policies({ policy }: { policy: NonNullable<PolicyReport['policy']> }) {
  return (
    <p data-testid="policy-names">
      Default idle policy <strong data-testid="policy-default">{policy.default}</strong>
      {policy.shadow ? (
        <>
          {' '}
          · shadow <strong data-testid="policy-shadow">{policy.shadow}</strong>{' '}
          <span className="muted small">(learns from the same history, never acts)</span>
        </>
      ) : (
        <span className="muted small" data-testid="policy-no-shadow">
          {' '}
          · no shadow policy (<code>--policy-shadow</code> replays another beside it)
        </span>
      )}
    </p>
  );
}

/** One labelled number: `value` raw in `data-value`, `text` (default the number) shown. */
function Stat({
  label,
  testId,
  value,
  text,
  children,
}: {
  label: string;
  testId: string;
  value: number | null;
  text?: string;
  children?: ReactNode;
}) {
  return (
    <div className="stat">
      <dt>{label}</dt>
      <dd>
        <strong data-testid={testId} data-value={value ?? undefined}>
          {text ?? value}
        </strong>
        {children && <span className="muted small"> {children}</span>}
      </dd>
    </div>
  );
}

function Totals({ report: r }: { report: PolicyReport }) {
  const t = r.totals;
  const share = regretShare(t);
  return (
    <div className="card" data-testid="policy-totals">
      <h2>What idle pausing did</h2>
      <dl className="stats">
        <Stat label="Idle pauses" testId="policy-idle-pauses" value={t.idlePauses}>
          of <span data-testid="policy-pauses">{t.pauses}</span> pauses
        </Stat>
        <Stat label="Regret wakes" testId="policy-regret-wakes" value={t.regretWakes}>
          {share === null ? (
            'no wakes'
          ) : (
            <>
              <span data-testid="policy-regret-share" data-value={share}>
                {Math.round(share * 100)} %
              </span>{' '}
              of <span data-testid="policy-wakes">{t.wakes}</span> wakes
            </>
          )}
        </Stat>
        <Stat label="Resume waits" testId="policy-resume-waits" value={t.resumeWaits}>
          wakes someone waited for
        </Stat>
        <Stat label="Saved" testId="policy-saved" value={t.savedMinutes} text={minutesAsHours(t.savedMinutes)}>
          of sandbox time paused
        </Stat>
        <Stat
          label="Resume wait"
          testId="policy-resume-median"
          value={t.resumeWaitMedianMs}
          text={formatMs(t.resumeWaitMedianMs)}
        >
          median, p95{' '}
          <strong data-testid="policy-resume-p95" data-value={t.resumeWaitP95Ms ?? undefined}>
            {formatMs(t.resumeWaitP95Ms)}
          </strong>
        </Stat>
      </dl>
    </div>
  );
}

/**
 * The projects as served: the most regret wakes first, then resume waits. Only the top ones come,
 * so the table does not re-sort them by another column.
 */
function TopProjects({ report: r }: { report: PolicyReport }) {
  const more = r.projectCount - r.projects.length;
  return (
    <div className="card table-card" data-testid="policy-projects">
      <h2 id="policy-projects-title">Projects with the most regret wakes</h2>
      {more > 0 && (
        <p className="muted small">
          The top {r.projects.length} of {r.projectCount} projects with an idle pause or a wake.
        </p>
      )}
      <table className="table" aria-labelledby="policy-projects-title">
        <thead>
          <tr>
            <th scope="col">Project</th>
            <th scope="col" className="num">
              Regret wakes
            </th>
            <th scope="col" className="num">
              Wakes
            </th>
            <th scope="col" className="num">
              Idle pauses
            </th>
            <th scope="col" className="num">
              Resume waits
            </th>
            <th scope="col" className="num">
              Saved
            </th>
          </tr>
        </thead>
        <tbody>
          {r.projects.length === 0 && (
            <EmptyRow colSpan={6} isPending={false} text="No project had an idle pause or a wake." />
          )}
          {r.projects.map((p) => (
            <tr key={p.projectId} data-testid="policy-project-row" data-project-id={p.projectId}>
              <td>
                <a href={hrefs.project(p.projectId)} className="project-link">
                  {p.projectId}
                </a>
              </td>
              <td className="num">{p.regretWakes}</td>
              <td className="num">{p.wakes}</td>
              <td className="num">{p.idlePauses}</td>
              <td className="num">{p.resumeWaits}</td>
              <td className="num" data-value={p.savedMinutes}>
                {minutesAsHours(p.savedMinutes)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The default and the shadow replayed over the same idle episodes: a column per policy. */
function Replay({ replay, policy }: { replay: PolicyReplay; policy: PolicyReport['policy'] }) {
  const role = (p: IdlePolicy) => {
    if (p === policy?.default) return 'default';
    return p === policy?.shadow ? 'shadow' : null;
  };
  return (
    <div className="card table-card" data-testid="replay">
      <h2 id="replay-title">Replayed over the same history</h2>
      <p className="muted small">
        Each policy replayed over the same{' '}
        <strong data-testid="replay-episodes" data-value={replay.episodes}>
          {replay.episodes}
        </strong>{' '}
        idle episode{replay.episodes === 1 ? '' : 's'} of this span.
      </p>
      <table className="table replay-table" aria-labelledby="replay-title">
        <thead>
          <tr>
            <th scope="col">Metric</th>
            {replay.policies.map((p, i) => (
              <th key={`${p.policy}-${i}`} scope="col" className="num" data-testid={`replay-col-${p.policy}`}>
                {p.policy}
                {role(p.policy) && <span className="replay-role"> ({role(p.policy)})</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {REPLAY_ROWS.map((row) => (
            <tr key={row.metric} data-testid={`replay-row-${row.metric}`}>
              <th scope="row">{row.label}</th>
              {replay.policies.map((p, i) => (
                <td
                  key={`${p.policy}-${i}`}
                  className="num"
                  data-testid={`replay-${p.policy}-${row.metric}`}
                  data-value={p[row.metric]}
                >
                  {row.format(p[row.metric])}
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <p className="muted small" data-testid="replay-note">
        {replay.note}
      </p>
    </div>
  );
}
