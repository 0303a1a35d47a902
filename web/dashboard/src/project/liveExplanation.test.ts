import type { Explanation, Sandbox } from '@sandboxd/client';
import { describe, expect, it } from 'vitest';
import { makeSandbox } from '../test-utils';
import { withLiveRecord } from './liveExplanation';

const T = (s: number) => new Date(Date.UTC(2025, 0, 1, 1, 0, s)).toISOString();

// As the server explains a RUNNING sandbox that started at T(0) with a 60 s timeout.
const explained: Explanation = {
  projectId: 'p1',
  sandboxId: 'sbx1',
  status: 'RUNNING',
  since: T(0),
  summary: `RUNNING since ${T(0)}: kept awake by its start until ${T(60)}.`,
  next: `it pauses at ${T(60)} unless there is new activity or a hold`,
  idleTimeoutSeconds: 60,
  lastActivityAt: T(0),
  pauseAt: T(60),
  awake: [
    { kind: 'activity', source: 'start', at: T(0), until: T(60) },
    { kind: 'presence', streams: 1 },
  ],
  pauseAtSetBy: { kind: 'activity', source: 'start', at: T(0), until: T(60) },
  activity: { start: T(0) },
  cause: null,
  failure: null,
} as unknown as Explanation;

const running = (over: Partial<Sandbox>): Sandbox =>
  makeSandbox({ status: 'RUNNING', idleTimeoutSeconds: 60, lastActivityAt: T(0), pauseAt: T(60), ...over });

describe('withLiveRecord', () => {
  it('is the explanation itself while the snapshot says nothing newer', () => {
    const s = running({ activity: { start: T(0) } });
    expect(withLiveRecord(explained, s, Date.parse(T(5)))).toBe(explained);
    // Older servers send no activity: nothing to work from.
    expect(withLiveRecord(explained, running({ lastActivityAt: T(9), pauseAt: T(69) }), Date.parse(T(10)))).toBe(
      explained,
    );
    expect(withLiveRecord(explained, running({ status: 'PAUSED', pauseAt: null }), Date.parse(T(10)))).toBe(explained);
  });

  it('follows activity that moved the pause time: reasons, who sets it, summary and next', () => {
    const s = running({ lastActivityAt: T(30), pauseAt: T(90), activity: { start: T(0), presence: T(30) } });
    const e = withLiveRecord(explained, s, Date.parse(T(31)));
    expect(e.pauseAt).toBe(T(90));
    expect(e.awake).toEqual([
      { kind: 'activity', source: 'presence', at: T(30), until: T(90) },
      { kind: 'activity', source: 'start', at: T(0), until: T(60) },
      { kind: 'presence', streams: 1 },
    ]);
    expect(e.pauseAtSetBy).toEqual({ kind: 'activity', source: 'presence', at: T(30), until: T(90) });
    expect(e.summary).toBe(`RUNNING since ${T(0)}: kept awake by an open dashboard (presence) until ${T(90)}.`);
    expect(e.next).toBe(`it pauses at ${T(90)} unless there is new activity or a hold`);
  });

  it('names a hold that outlasts the activity, and drops reasons that ran out', () => {
    const s = running({
      lastActivityAt: T(30),
      pauseAt: T(150),
      activity: { start: T(0), api: T(30) },
      holds: [{ name: 'build', expiresAt: T(150) }],
    });
    const e = withLiveRecord(
      { ...explained, summary: `${explained.summary} Last failure (pause_failed): x; y.` },
      s,
      Date.parse(T(70)),
    );
    expect(e.awake.map((r) => r.kind + ':' + (r.source ?? r.name ?? ''))).toEqual([
      'activity:api',
      'presence:',
      'hold:build',
    ]);
    expect(e.pauseAtSetBy).toEqual({ kind: 'hold', name: 'build', until: T(150) });
    expect(e.summary).toBe(
      `RUNNING since ${T(0)}: kept awake by the hold "build" until ${T(150)}. Last failure (pause_failed): x; y.`,
    );
  });

  it('says a sandbox past its pause time is due', () => {
    const s = running({ lastActivityAt: T(1), pauseAt: T(61), activity: { start: T(1) } });
    expect(withLiveRecord(explained, s, Date.parse(T(62))).next).toBe(
      'it is due: the idle enforcer pauses it at its next pass',
    );
  });
});
