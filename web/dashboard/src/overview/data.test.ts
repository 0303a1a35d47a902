import { describe, expect, it } from 'vitest';
import { makeOverview } from '../../../client/src/test-utils';
import {
  latenessData,
  perBucketLabel,
  savedShare,
  statusData,
  transitionData,
  webhookData,
  windowLabel,
  windowTotals,
} from './data';

const TO = '2025-01-01T01:00:00.000Z';
const toS = Date.parse(TO) / 1000;

// An hour with a create in the oldest bucket, a pause and two wakes in the newest, three
// applied webhooks, and two idle pauses in bucket 10.
const hour = makeOverview({
  to: TO,
  current: { RUNNING: 3, PAUSED: 5, KILLED: 2 },
  bucket: (i) => ({
    ...(i === 0 ? { creates: 1, statuses: { STARTING: 0, RUNNING: 1, PAUSING: 0, PAUSED: 0, KILLED: 0 } } : {}),
    ...(i === 59 ? { pauses: 1, wakes: 2 } : {}),
    ...(i === 30
      ? { webhooks: { applied: 3, duplicate: 1, stale: 0, ignored: 0, orphan: 0, rejected: 2 } }
      : {}),
    ...(i === 10 ? { lateness: { count: 2, medianMs: 150, maxMs: 900 } } : {}),
  }),
});

describe('statusData', () => {
  it('has one x per bucket end and a series per status in lifecycle order', () => {
    const [xs, starting, running, pausing, paused, killed] = statusData(hour);
    expect(xs).toHaveLength(60);
    expect(xs[0]).toBe(toS - 59 * 60);
    expect(xs[59]).toBe(toS);
    expect(running![0]).toBe(1);
    expect(running![59]).toBe(3);
    expect(paused![59]).toBe(5);
    expect(killed![59]).toBe(2);
    expect(starting!.every((v) => v === 0)).toBe(true);
    expect(pausing).toHaveLength(60);
  });
});

describe('per-bucket series', () => {
  it('step from each bucket start to the window end, the last value repeated there', () => {
    const [xs, creates, pauses, wakes, kills] = transitionData(hour);
    expect(xs).toHaveLength(61);
    expect(xs[0]).toBe(toS - 3600);
    expect(xs[59]).toBe(toS - 60);
    expect(xs[60]).toBe(toS);
    expect(creates![0]).toBe(1);
    expect(creates![1]).toBe(0);
    expect(pauses!.slice(-2)).toEqual([1, 1]);
    expect(wakes!.slice(-2)).toEqual([2, 2]);
    expect(kills!.every((v) => v === 0)).toBe(true);
  });

  it('has a series per webhook outcome', () => {
    const [xs, applied, duplicate, stale, ignored, orphan, rejected] = webhookData(hour);
    expect(xs).toHaveLength(61);
    expect(applied![30]).toBe(3);
    expect(duplicate![30]).toBe(1);
    expect(rejected![30]).toBe(2);
    expect([stale, ignored, orphan].every((s) => s!.every((v) => v === 0))).toBe(true);
  });

  it('leaves buckets without idle pauses empty rather than zero', () => {
    const [, max, median] = latenessData(hour);
    expect(max![10]).toBe(900);
    expect(median![10]).toBe(150);
    expect(max![9]).toBeNull();
    expect(median![11]).toBeNull();
    expect(max![60]).toBeNull();
  });

  it('copes with a window without buckets', () => {
    const empty = { ...hour, buckets: [] };
    expect(transitionData(empty)).toEqual([[], [], [], [], []]);
    expect(statusData(empty)[0]).toEqual([]);
  });
});

describe('windowTotals', () => {
  it('sums the buckets', () => {
    const t = windowTotals(hour);
    expect(t.transitions).toEqual({ creates: 1, pauses: 1, wakes: 2, kills: 0 });
    expect(t.webhooks).toMatchObject({ applied: 3, duplicate: 1, rejected: 2 });
    expect(t.latePauses).toBe(2);
    expect(t.worstLatenessMs).toBe(900);
    expect(windowTotals(makeOverview()).worstLatenessMs).toBeNull();
  });
});

describe('labels', () => {
  it('names the bucket honestly', () => {
    expect(perBucketLabel(60)).toBe('per minute');
    expect(perBucketLabel(900)).toBe('per 15 min');
    expect(perBucketLabel(3600)).toBe('per hour');
    expect(perBucketLabel(7200)).toBe('per 2 h');
    expect(perBucketLabel(45)).toBe('per 45 s');
    expect(perBucketLabel(makeOverview({ window: '24h' }).bucketSeconds)).toBe('per 15 min');
    expect(windowLabel(hour)).toBe('the last hour');
    expect(windowLabel({ window: '24h' })).toBe('the last 24 hours');
  });

  it('gives the saved share of the hours without idle pauses', () => {
    expect(savedShare({ runningHours: 1.5, withoutIdlePausesHours: 3, savedHours: 1.5, idlePauses: 4 })).toBe(0.5);
    expect(savedShare({ runningHours: 0, withoutIdlePausesHours: 0, savedHours: 0, idlePauses: 0 })).toBe(0);
  });
});
