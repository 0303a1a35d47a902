import type { AwakeReason, Explanation, Sandbox } from '@sandboxd/client';
import { unexpiredHolds } from '../holds';

/** How the server words what keeps a sandbox awake (lifecycle/explain.cc, Words). */
export function reasonWords(r: AwakeReason): string {
  if (r.kind === 'hold') return `the hold "${r.name ?? ''}"`;
  if (r.source === 'start') return 'its start';
  if (r.source === 'presence') return 'an open dashboard (presence)';
  if (r.source === 'preview') return 'traffic to its preview URL';
  if (!r.source) return 'activity';
  return `${r.source} activity`;
}

const DUE = 'it is due: the idle enforcer pauses it at its next pass';
const pausesAt = (pauseAt: string) => `it pauses at ${pauseAt} unless there is new activity or a hold`;

/**
 * The explanation of a RUNNING sandbox brought up to date with a newer snapshot of it.
 *
 * Activity (an API call, an open dashboard's heartbeat, preview traffic) moves `pauseAt` without
 * a history row. Asking the server again on every move would be a request a second while a
 * dashboard is open, so what depends only on the record is worked out again here, the way the
 * server does it (lifecycle/explain.cc): the live activity and hold reasons, which one sets the
 * pause time, and the pause time in the summary and in "next". What needs the history or the
 * server (the cause, open streams) stays as the server said. Returns `e` itself when the snapshot
 * says nothing newer or is not RUNNING.
 */
export function withLiveRecord(e: Explanation, s: Sandbox, now: number): Explanation {
  if (e.status !== 'RUNNING' || s.status !== 'RUNNING' || !s.pauseAt) return e;
  if (!s.activity || Object.keys(s.activity).length === 0) return e;
  if (s.pauseAt === e.pauseAt && s.lastActivityAt === e.lastActivityAt) return e;
  const timeoutMs = s.idleTimeoutSeconds * 1000;
  const iso = (ms: number) => new Date(ms).toISOString();
  const awake: AwakeReason[] = [];
  for (const [source, at] of Object.entries(s.activity).sort(([a], [b]) => (a < b ? -1 : 1))) {
    const until = Date.parse(at) + timeoutMs;
    if (until > now) awake.push({ kind: 'activity', source, at, until: iso(until) });
  }
  awake.push(...e.awake.filter((r) => r.kind === 'presence'));
  for (const h of unexpiredHolds(s, now)) awake.push({ kind: 'hold', name: h.name, until: h.expiresAt });
  const idleAt = Date.parse(s.lastActivityAt ?? '') + timeoutMs;
  const pauseAtMs = Date.parse(s.pauseAt);
  let setBy: AwakeReason | null = null;
  for (const h of s.holds ?? []) {
    if (Date.parse(h.expiresAt) === pauseAtMs && pauseAtMs > idleAt) {
      setBy = { kind: 'hold', name: h.name, until: h.expiresAt };
    }
  }
  if (!setBy) {
    const source = Object.entries(s.activity).find(([, at]) => at === s.lastActivityAt)?.[0] ?? null;
    setBy = { kind: 'activity', source, at: s.lastActivityAt, until: iso(idleAt) };
  }
  // "RUNNING since T: kept awake by W until P." and any failure after it: only that sentence
  // changes.
  const said =
    e.pauseAtSetBy && e.pauseAt ? `: kept awake by ${reasonWords(e.pauseAtSetBy)} until ${e.pauseAt}.` : null;
  const summary =
    said && e.summary.includes(said)
      ? e.summary.replace(said, `: kept awake by ${reasonWords(setBy)} until ${s.pauseAt}.`)
      : e.summary;
  const runningNext = e.next === DUE || (e.pauseAt !== null && e.next === pausesAt(e.pauseAt));
  const next = runningNext ? (Date.parse(s.pauseAt) <= now ? DUE : pausesAt(s.pauseAt)) : e.next;
  return {
    ...e,
    summary,
    next,
    lastActivityAt: s.lastActivityAt ?? e.lastActivityAt,
    pauseAt: s.pauseAt,
    awake,
    pauseAtSetBy: setBy,
    activity: s.activity,
  };
}
