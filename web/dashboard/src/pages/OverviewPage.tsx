import { useMemo, useState, type ReactNode } from 'react';
import {
  OVERVIEW_WINDOWS,
  SANDBOX_STATUSES,
  WEBHOOK_OUTCOMES,
  type Overview,
  type OverviewWindow,
} from '@sandboxd/client';
import { useOverview } from '@sandboxd/react';
import { ErrorNote } from '../components/ErrorNote';
import { Time } from '../components/Time';
import { formatHours } from '../format';
import {
  LATENESS_SERIES,
  STATUS_COLORS,
  TRANSITION_COLORS,
  WEBHOOK_COLORS,
  overviewChartOptions,
} from '../overview/charts';
import {
  TRANSITIONS,
  latenessData,
  perBucketLabel,
  savedShare,
  statusData,
  transitionData,
  webhookData,
  windowLabel,
  windowTotals,
} from '../overview/data';
import { UPlotChart } from '../overview/UPlotChart';

const WINDOW_NAMES: Record<OverviewWindow, string> = { '1h': 'Last hour', '24h': 'Last 24 h' };

/**
 * The fleet over the last hour or day (GET /api/overview, refreshed every 30 s): sandboxes by
 * status, transitions, webhook deliveries, how late the idle pauses came, and the hours they
 * saved. While another window loads the last one stays, labelled by what it is.
 */
export function OverviewPage() {
  const [span, setSpan] = useState<OverviewWindow>('1h');
  const overview = useOverview(span);
  const o = overview.data;
  return (
    <section>
      <div className="page-head">
        <div>
          <h1>Overview</h1>
          {o && (
            <p className="muted small" data-testid="overview-span">
              {windowLabel(o)}, {perBucketLabel(o.bucketSeconds)} · from <Time iso={o.from} /> to now
            </p>
          )}
        </div>
        <div className="row">
          {overview.isPlaceholderData && <span className="muted small">Loading {WINDOW_NAMES[span].toLowerCase()}…</span>}
          <div className="toggle" role="group" aria-label="Window">
            {OVERVIEW_WINDOWS.map((w) => (
              <button
                key={w}
                type="button"
                data-testid={`window-${w}`}
                aria-pressed={span === w}
                className={span === w ? 'primary' : ''}
                onClick={() => setSpan(w)}
              >
                {WINDOW_NAMES[w]}
              </button>
            ))}
          </div>
        </div>
      </div>
      <ErrorNote error={overview.error} prefix="Could not load the overview" />
      {!o && !overview.error && <p className="muted center">Loading…</p>}
      {o && <OverviewCharts overview={o} />}
    </section>
  );
}

function OverviewCharts({ overview: o }: { overview: Overview }) {
  const per = perBucketLabel(o.bucketSeconds);
  const options = useMemo(() => overviewChartOptions(per), [per]);
  const data = useMemo(
    () => ({
      statuses: statusData(o),
      transitions: transitionData(o),
      webhooks: webhookData(o),
      lateness: latenessData(o),
    }),
    [o],
  );
  const totals = windowTotals(o);
  const during = windowLabel(o);
  return (
    <div data-testid="overview" data-window={o.window}>
      {o.truncated && (
        <p className="error" role="alert" data-testid="overview-truncated">
          Too many events in this window: the buckets before <Time iso={o.coveredFrom} /> count no
          transitions, webhooks or pauses.
        </p>
      )}
      <div className="overview-grid">
        <ChartCard
          testId="chart-statuses"
          title="Sandboxes by status"
          chart={
            <UPlotChart
              options={options.statuses}
              data={data.statuses}
              label={`Sandboxes in each status at the end of each bucket, over ${during}`}
            />
          }
        >
          Now:{' '}
          {SANDBOX_STATUSES.map((s, i) => (
            <Figure key={s} testId={`current-${s}`} value={o.current[s] ?? 0} color={STATUS_COLORS[s]} first={i === 0}>
              {s}
            </Figure>
          ))}
        </ChartCard>
        <ChartCard
          testId="chart-transitions"
          title={`Creates, pauses, wakes and kills ${per}`}
          chart={<UPlotChart options={options.transitions} data={data.transitions} label={`Transitions ${per} over ${during}`} />}
        >
          In {during}:{' '}
          {TRANSITIONS.map((t, i) => (
            <Figure key={t} testId={`total-${t}`} value={totals.transitions[t]} color={TRANSITION_COLORS[t]} first={i === 0}>
              {t}
            </Figure>
          ))}
        </ChartCard>
        <ChartCard
          testId="chart-webhooks"
          title={`Webhook events ${per}, by outcome`}
          chart={<UPlotChart options={options.webhooks} data={data.webhooks} label={`Webhook events ${per} over ${during}`} />}
        >
          In {during}:{' '}
          {WEBHOOK_OUTCOMES.map((w, i) => (
            <Figure key={w} testId={`total-webhooks-${w}`} value={totals.webhooks[w]} color={WEBHOOK_COLORS[w]} first={i === 0}>
              {w}
            </Figure>
          ))}
        </ChartCard>
        <ChartCard
          testId="chart-lateness"
          title="How late the idle pauses came"
          chart={
            <UPlotChart
              options={options.lateness}
              data={data.lateness}
              label={`Median and max ms between pauseAt and the idle pause, ${per}, over ${during}`}
            />
          }
        >
          In {during}:{' '}
          <Figure testId="lateness-count" value={totals.latePauses} first>
            idle pauses
          </Figure>
          {totals.worstLatenessMs !== null && (
            <>
              , the worst came{' '}
              <strong data-testid="lateness-worst" data-value={totals.worstLatenessMs}>
                {Math.round(totals.worstLatenessMs)} ms
              </strong>{' '}
              after its pauseAt
            </>
          )}
          . Bars: {LATENESS_SERIES.map((s) => s.label).join(' and ')} of each bucket.
        </ChartCard>
      </div>
      <Savings overview={o} />
    </div>
  );
}

function ChartCard({
  testId,
  title,
  chart,
  children,
}: {
  testId: string;
  title: string;
  chart: ReactNode;
  children: ReactNode;
}) {
  return (
    <figure className="card chart-card" data-testid={testId}>
      <figcaption>
        <h2>{title}</h2>
      </figcaption>
      {chart}
      <p className="small muted chart-summary" data-testid="chart-summary">
        {children}
      </p>
    </figure>
  );
}

/** "3 RUNNING" with the series' colour: one number of a chart's text summary. */
function Figure({
  testId,
  value,
  color,
  first = false,
  children,
}: {
  testId: string;
  value: number;
  color?: string;
  first?: boolean;
  children: ReactNode;
}) {
  return (
    <>
      {!first && ', '}
      <span className="figure">
        {color && <span className="swatch" style={{ background: color }} aria-hidden="true" />}
        <strong data-testid={testId} data-value={value}>
          {value}
        </strong>{' '}
        {children}
      </span>
    </>
  );
}

/** Awake hours against the hours there would have been without idle pauses. */
function Savings({ overview: o }: { overview: Overview }) {
  const s = o.savings;
  const top = Math.max(s.runningHours, s.withoutIdlePausesHours);
  const width = (h: number) => `${top > 0 ? Math.round((h / top) * 100) : 0}%`;
  const bar = (testId: string, label: string, hours: number, className: string) => (
    <div className="savings-row">
      <span className="savings-label">{label}</span>
      <span className="meter" aria-hidden="true">
        <span className={className} style={{ width: width(hours) }} />
      </span>
      <strong data-testid={testId} data-value={hours}>
        {formatHours(hours)}
      </strong>
    </div>
  );
  return (
    <div className="card" data-testid="savings">
      <h2>Sandbox-hours saved by idle pauses</h2>
      {bar('savings-running', 'Awake', s.runningHours, 'meter-running')}
      {bar('savings-without', 'Without idle pauses', s.withoutIdlePausesHours, 'meter-without')}
      <p className="small">
        Saved{' '}
        <strong data-testid="savings-saved" data-value={s.savedHours}>
          {formatHours(s.savedHours)}
        </strong>{' '}
        ({Math.round(savedShare(s) * 100)} %) in {windowLabel(o)} by{' '}
        <strong data-testid="savings-pauses" data-value={s.idlePauses}>
          {s.idlePauses}
        </strong>{' '}
        idle pause{s.idlePauses === 1 ? '' : 's'}: each would have run on until its next wake, its
        kill, or now.
      </p>
    </div>
  );
}
