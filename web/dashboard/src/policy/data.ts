/**
 * GET /api/policy/report's answer in words for the Policy page and the project page's idle
 * policy select: the spans offered, the policies' one-line descriptions, the regret share, and
 * the rows of the replay table. Pure functions.
 */
import type { IdlePolicy, PolicyReplayResult, PolicyReport, PolicyTally } from '@sandboxd/client';
import { formatHours } from '../format';

/** The spans the Policy page offers: `since` as the API takes it. */
export const POLICY_SPANS = ['24h', '168h', '720h'] as const;
export type PolicySpan = (typeof POLICY_SPANS)[number];

/** The API's own default: the last 7 days. */
export const DEFAULT_SPAN: PolicySpan = '168h';

export const SPAN_NAMES: Record<PolicySpan, string> = {
  '24h': 'Last 24 h',
  '168h': 'Last 7 days',
  '720h': 'Last 30 days',
};

/** What each policy does, in one line (policy/policy.h). */
export const POLICY_HINTS: Record<IdlePolicy, string> = {
  fixed: 'one idle timeout, as set',
  adaptive: 'a longer idle timeout after a regret wake, a shorter one after long idle spells',
  warmup: 'a fixed idle timeout, and a resume shortly before a likely return',
};

/**
 * The span a report covers, as `since` would ask for it ("168h"): its own `from` to `to`, so a
 * report shown while another loads is labelled by what it is.
 */
export function reportSpan(r: Pick<PolicyReport, 'from' | 'to'>): string {
  return `${Math.round((Date.parse(r.to) - Date.parse(r.from)) / 3_600_000)}h`;
}

/** "the last 7 days", or "since <from>" for a span the page does not offer. */
export function spanLabel(r: Pick<PolicyReport, 'from' | 'to'>): string {
  const span = reportSpan(r);
  const name = (POLICY_SPANS as readonly string[]).includes(span) ? SPAN_NAMES[span as PolicySpan] : null;
  return name ? name.replace(/^Last/, 'the last') : `since ${r.from}`;
}

/** The share of the wakes that came within the regret window of an idle pause; null without wakes. */
export function regretShare(t: Pick<PolicyTally, 'wakes' | 'regretWakes'>): number | null {
  return t.wakes > 0 ? t.regretWakes / t.wakes : null;
}

/** Nothing to report: no sandbox was paused or woken in the span. */
export function isQuiet(r: PolicyReport): boolean {
  return r.totals.pauses === 0 && r.totals.wakes === 0 && r.projectCount === 0;
}

/** Sandbox-minutes as sandbox-hours ("1.5 h", "31 h"). */
export const minutesAsHours = (minutes: number) => formatHours(minutes / 60);

export type ReplayMetric = Exclude<keyof PolicyReplayResult, 'policy'>;

/** The replay table's rows, top to bottom: the metric, its name, and how its number reads. */
export const REPLAY_ROWS: readonly { metric: ReplayMetric; label: string; format: (n: number) => string }[] = [
  { metric: 'idlePauses', label: 'Idle pauses', format: String },
  { metric: 'regretWakes', label: 'Regret wakes', format: String },
  { metric: 'resumeWaits', label: 'Resume waits', format: String },
  { metric: 'idleMinutes', label: 'Paid while idle', format: minutesAsHours },
  { metric: 'savedMinutes', label: 'Saved (paused)', format: minutesAsHours },
  { metric: 'timeoutChanges', label: 'Timeout changes', format: String },
  { metric: 'preWakes', label: 'Pre-wakes', format: String },
  { metric: 'preWakeHits', label: 'Pre-wakes used', format: String },
  { metric: 'preWakeMisses', label: 'Pre-wakes unused', format: String },
];
