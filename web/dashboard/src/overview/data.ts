/**
 * GET /api/overview's answer shaped for the charts: uPlot's aligned data (x in unix seconds, then
 * one array per series, null where a series has no value), the window's totals for the text
 * beside each chart, and the honest names of its units. Pure functions, no uPlot.
 */
import {
  SANDBOX_STATUSES,
  WEBHOOK_OUTCOMES,
  type Overview,
  type OverviewBucket,
  type WebhookOutcome,
} from '@sandboxd/client';

export type ChartData = [xs: number[], ...ys: (number | null)[][]];

export const TRANSITIONS = ['creates', 'pauses', 'wakes', 'kills'] as const;
export type Transition = (typeof TRANSITIONS)[number];

const seconds = (iso: string) => Date.parse(iso) / 1000;

/** "per minute", "per 15 min", "per hour": what one bucket of `bucketSeconds` is. */
export function perBucketLabel(bucketSeconds: number): string {
  if (bucketSeconds === 60) return 'per minute';
  if (bucketSeconds === 3600) return 'per hour';
  if (bucketSeconds % 3600 === 0) return `per ${bucketSeconds / 3600} h`;
  if (bucketSeconds % 60 === 0) return `per ${bucketSeconds / 60} min`;
  return `per ${bucketSeconds} s`;
}

/** "the last hour", "the last 24 hours". */
export function windowLabel(o: Pick<Overview, 'window'>): string {
  return o.window === '1h' ? 'the last hour' : 'the last 24 hours';
}

/** Sandboxes in each status (SANDBOX_STATUSES order) at each bucket's end. */
export function statusData(o: Overview): ChartData {
  return [
    o.buckets.map((b) => seconds(b.end)),
    ...SANDBOX_STATUSES.map((s) => o.buckets.map((b) => b.statuses[s] ?? 0)),
  ];
}

/**
 * Per-bucket values drawn as steps from each bucket's start: x is every bucket's start and then
 * the last one's end, where each series repeats its last value so the last step reaches it.
 */
function perBucket(o: Overview, picks: ((b: OverviewBucket) => number | null)[]): ChartData {
  const last = o.buckets[o.buckets.length - 1];
  if (!last) return [[], ...picks.map(() => [])];
  const xs = [...o.buckets.map((b) => seconds(b.start)), seconds(last.end)];
  const ys = picks.map((pick) => {
    const values = o.buckets.map(pick);
    return [...values, values[values.length - 1] ?? null];
  });
  return [xs, ...ys];
}

/** Creates, pauses, wakes and kills in each bucket (TRANSITIONS order). */
export function transitionData(o: Overview): ChartData {
  return perBucket(
    o,
    TRANSITIONS.map((t) => (b: OverviewBucket) => b[t]),
  );
}

/** Webhook deliveries in each bucket by outcome (WEBHOOK_OUTCOMES order). */
export function webhookData(o: Overview): ChartData {
  return perBucket(
    o,
    WEBHOOK_OUTCOMES.map((w) => (b: OverviewBucket) => b.webhooks[w] ?? 0),
  );
}

/**
 * How late the enforcer's idle pauses came in each bucket: the max, then the median, in ms;
 * null for a bucket without such a pause (nothing drawn, rather than a misleading zero).
 */
export function latenessData(o: Overview): ChartData {
  const when = (f: (b: OverviewBucket) => number | null) => (b: OverviewBucket) =>
    b.lateness.count > 0 ? f(b) : null;
  return perBucket(o, [when((b) => b.lateness.maxMs), when((b) => b.lateness.medianMs)]);
}

export interface WindowTotals {
  transitions: Record<Transition, number>;
  webhooks: Record<WebhookOutcome, number>;
  /** Idle pauses with a lateness, and the latest of them (ms; null without any). */
  latePauses: number;
  worstLatenessMs: number | null;
}

/** Sums over the window's buckets, for the text beside the charts. */
export function windowTotals(o: Overview): WindowTotals {
  const transitions = Object.fromEntries(TRANSITIONS.map((t) => [t, 0])) as Record<Transition, number>;
  const webhooks = Object.fromEntries(WEBHOOK_OUTCOMES.map((w) => [w, 0])) as Record<WebhookOutcome, number>;
  let latePauses = 0;
  let worst: number | null = null;
  for (const b of o.buckets) {
    for (const t of TRANSITIONS) transitions[t] += b[t];
    for (const w of WEBHOOK_OUTCOMES) webhooks[w] += b.webhooks[w] ?? 0;
    latePauses += b.lateness.count;
    if (b.lateness.count > 0 && b.lateness.maxMs !== null) {
      worst = worst === null ? b.lateness.maxMs : Math.max(worst, b.lateness.maxMs);
    }
  }
  return { transitions, webhooks, latePauses, worstLatenessMs: worst };
}

/** The share of the hours without idle pauses that the pauses saved, 0…1. */
export function savedShare(s: Overview['savings']): number {
  if (!(s.withoutIdlePausesHours > 0)) return 0;
  return Math.min(1, Math.max(0, s.savedHours / s.withoutIdlePausesHours));
}
