/**
 * uPlot options of the overview's charts: which series, in what colour, drawn how, and the units
 * on the y axis. Built once per bucket size (the unit changes with the window); the data comes
 * from data.ts.
 */
import uPlot from 'uplot';
import { SANDBOX_STATUSES, WEBHOOK_OUTCOMES, type SandboxStatus, type WebhookOutcome } from '@sandboxd/client';
import { TRANSITIONS, type Transition } from './data';

export type ChartOptions = Omit<uPlot.Options, 'width' | 'height'>;

export interface SeriesSpec {
  label: string;
  color: string;
}

export const STATUS_COLORS: Record<SandboxStatus, string> = {
  STARTING: '#b45309',
  RUNNING: '#16a34a',
  PAUSING: '#f59e0b',
  PAUSED: '#2563eb',
  KILLED: '#6b7280',
};

export const TRANSITION_COLORS: Record<Transition, string> = {
  creates: '#16a34a',
  pauses: '#2563eb',
  wakes: '#6d28d9',
  kills: '#dc2626',
};

export const WEBHOOK_COLORS: Record<WebhookOutcome, string> = {
  applied: '#16a34a',
  duplicate: '#6b7280',
  stale: '#b45309',
  ignored: '#9ca3af',
  orphan: '#6d28d9',
  rejected: '#dc2626',
};

export const LATENESS_SERIES: SeriesSpec[] = [
  { label: 'max', color: '#fca5a5' },
  { label: 'median', color: '#2563eb' },
];

/** Tick steps of a count axis: whole numbers only. */
const COUNT_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000];

const count = (v: number) => String(Math.round(v));
const ms = (v: number) => `${Math.round(v)} ms`;

interface ChartSpec {
  /** lines: a value at each x; steps: a value held over each bucket; bars: one bar per bucket. */
  kind: 'lines' | 'steps' | 'bars';
  yLabel: string;
  series: SeriesSpec[];
  /** A value in the legend; the axis says the unit in its label and shows plain numbers. */
  format: (v: number) => string;
  /** Counts: ticks on whole numbers. */
  whole: boolean;
}

function chartOptions(spec: ChartSpec): ChartOptions {
  const paths =
    spec.kind === 'steps'
      ? uPlot.paths.stepped?.({ align: 1 })
      : spec.kind === 'bars'
        ? uPlot.paths.bars?.({ align: 1, size: [0.9, Infinity] })
        : undefined;
  const axis = { stroke: '#6b7280', grid: { stroke: '#e5e7eb', width: 1 }, ticks: { stroke: '#e5e7eb', width: 1 } };
  return {
    series: [
      {},
      ...spec.series.map((s): uPlot.Series => ({
        label: s.label,
        stroke: s.color,
        width: spec.kind === 'bars' ? 0 : 2,
        ...(spec.kind === 'bars' ? { fill: s.color } : {}),
        ...(paths ? { paths } : {}),
        points: { show: spec.kind === 'lines' ? undefined : false },
        value: (_u, v) => (v == null ? '—' : spec.format(v)),
      })),
    ],
    scales: {
      // From zero, with room above the highest value (and an axis even when all is zero).
      y: { range: (_u, _min, max) => [0, max > 0 ? (spec.whole ? Math.ceil(max * 1.1) : max * 1.1) : 1] },
    },
    axes: [
      axis,
      {
        ...axis,
        label: spec.yLabel,
        size: 50,
        values: (_u, splits) => splits.map((v) => String(Math.round(v * 10) / 10)),
        ...(spec.whole ? { incrs: COUNT_INCRS } : {}),
      },
    ],
    cursor: { drag: { x: false, y: false, setScale: false } },
    legend: { live: true },
  };
}

/** The options of every chart, for a bucket labelled `per` ("per minute"). */
export function overviewChartOptions(per: string) {
  return {
    statuses: chartOptions({
      kind: 'lines',
      yLabel: 'sandboxes',
      series: SANDBOX_STATUSES.map((s) => ({ label: s, color: STATUS_COLORS[s] })),
      format: count,
      whole: true,
    }),
    transitions: chartOptions({
      kind: 'steps',
      yLabel: per,
      series: TRANSITIONS.map((t) => ({ label: t, color: TRANSITION_COLORS[t] })),
      format: count,
      whole: true,
    }),
    webhooks: chartOptions({
      kind: 'steps',
      yLabel: `events ${per}`,
      series: WEBHOOK_OUTCOMES.map((w) => ({ label: w, color: WEBHOOK_COLORS[w] })),
      format: count,
      whole: true,
    }),
    lateness: chartOptions({
      kind: 'bars',
      yLabel: 'ms after pauseAt',
      series: LATENESS_SERIES,
      format: ms,
      whole: false,
    }),
  };
}
