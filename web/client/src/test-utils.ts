/**
 * Test doubles shared by the client, react and dashboard tests (not part of the build):
 * a controllable EventSource, a visibility source, and an in-memory sandboxd API behind `fetch`.
 */
import { vi } from 'vitest';
import type { EventSourceLike, VisibilitySource } from './subscription.js';
import {
  IDLE_POLICIES,
  SANDBOX_STATUSES,
  WEBHOOK_OUTCOMES,
  type EnforcerRun,
  type HistoryEvent,
  type IdlePolicy,
  type Overview,
  type OverviewBucket,
  type OverviewWindow,
  type PolicyReplayResult,
  type PolicyReport,
  type Readiness,
  type Sandbox,
  type SandboxStatus,
  type StatusCounts,
} from './types.js';

type Listener = (event: MessageEvent) => void;

export interface FakeEventSourceClass {
  new (url: string, init?: { withCredentials?: boolean }): FakeEventSource;
  instances: FakeEventSource[];
  /** The most recently constructed instance. */
  readonly last: FakeEventSource | undefined;
  /** Instances not closed. */
  readonly open: FakeEventSource[];
}

export interface FakeEventSource extends EventSourceLike {
  readonly url: string;
  readyState: number;
  closed: boolean;
  /** Server accepted the stream. */
  accept(): void;
  /** Server sends `event: sandbox`. */
  send(sandbox: Sandbox): void;
  /** Server sends another event type with raw `data`. */
  sendEvent(type: string, data: string): void;
  /** Connection error: `refused` (non-200 answer, e.g. 503) closes it, otherwise it reconnects. */
  fail(refused?: boolean): void;
}

/** A fresh EventSource double class with its own instance list. */
export function fakeEventSourceClass(): FakeEventSourceClass {
  const instances: FakeEventSource[] = [];
  class Fake implements FakeEventSource {
    static instances = instances;
    static get last() {
      return instances[instances.length - 1];
    }
    static get open() {
      return instances.filter((i) => !i.closed);
    }
    readyState = 0;
    closed = false;
    private listeners = new Map<string, Set<Listener>>();
    constructor(
      readonly url: string,
      readonly init?: { withCredentials?: boolean },
    ) {
      instances.push(this);
    }
    addEventListener(type: string, listener: Listener) {
      let set = this.listeners.get(type);
      if (!set) this.listeners.set(type, (set = new Set()));
      set.add(listener);
    }
    close() {
      this.readyState = 2;
      this.closed = true;
    }
    private dispatch(type: string, init: { data?: string; lastEventId?: string } = {}) {
      const event = { type, data: init.data, lastEventId: init.lastEventId ?? '' } as MessageEvent;
      for (const l of [...(this.listeners.get(type) ?? [])]) l(event);
    }
    accept() {
      if (this.closed) throw new Error('accept() on a closed FakeEventSource');
      this.readyState = 1;
      this.dispatch('open');
    }
    send(sandbox: Sandbox) {
      if (this.closed) throw new Error('send() on a closed FakeEventSource');
      this.dispatch('sandbox', { data: JSON.stringify(sandbox), lastEventId: String(sandbox.version) });
    }
    sendEvent(type: string, data: string) {
      if (this.closed) throw new Error('sendEvent() on a closed FakeEventSource');
      this.dispatch(type, { data });
    }
    fail(refused = false) {
      if (refused) this.close();
      else this.readyState = 0;
      this.dispatch('error');
    }
  }
  return Fake as unknown as FakeEventSourceClass;
}

export interface FakeDocument extends VisibilitySource {
  visibilityState: 'visible' | 'hidden';
  setVisibility(state: 'visible' | 'hidden'): void;
  listenerCount(): number;
}

export function fakeDocument(initial: 'visible' | 'hidden' = 'visible'): FakeDocument {
  const listeners = new Set<() => void>();
  return {
    visibilityState: initial,
    addEventListener: (_type: string, l: () => void) => void listeners.add(l),
    removeEventListener: (_type: string, l: () => void) => void listeners.delete(l),
    setVisibility(state) {
      this.visibilityState = state;
      for (const l of [...listeners]) l();
    },
    listenerCount: () => listeners.size,
  };
}

export function makeSandbox(overrides: Partial<Sandbox> = {}): Sandbox {
  const now = '2025-01-01T00:00:00.000Z';
  return {
    projectId: 'p1',
    sandboxId: 'sbx-1',
    status: 'RUNNING',
    url: 'http://127.0.0.1:42001/',
    template: 'hello',
    idleTimeoutSeconds: 180,
    lastActivityAt: now,
    pauseAt: '2025-01-01T00:03:00.000Z',
    createdAt: now,
    updatedAt: now,
    version: 1,
    lastError: null,
    ...overrides,
  };
}

export function statusCounts(counts: Partial<StatusCounts> = {}): StatusCounts {
  const all = Object.fromEntries(SANDBOX_STATUSES.map((s) => [s, 0])) as StatusCounts;
  return { ...all, ...counts };
}

export interface MakeOverviewOptions {
  window?: OverviewWindow;
  /** The window's end (now); default 2025-01-01T00:00:00Z. */
  to?: string;
  current?: Partial<StatusCounts>;
  /** Changes to bucket `i` (0 = oldest); unchanged buckets have no events and `current` counts. */
  bucket?: (i: number) => Partial<OverviewBucket>;
  savings?: Partial<Overview['savings']>;
  truncated?: boolean;
}

/** A GET /api/overview answer as the server builds it: 60 × 60 s (1h) or 96 × 900 s (24h). */
export function makeOverview(options: MakeOverviewOptions = {}): Overview {
  const window = options.window ?? '1h';
  const bucketSeconds = window === '1h' ? 60 : 900;
  const n = window === '1h' ? 60 : 96;
  const to = Date.parse(options.to ?? '2025-01-01T00:00:00.000Z');
  const from = to - n * bucketSeconds * 1000;
  const current = statusCounts(options.current);
  const iso = (ms: number) => new Date(ms).toISOString();
  const buckets: OverviewBucket[] = [];
  for (let i = 0; i < n; i++) {
    const start = from + i * bucketSeconds * 1000;
    buckets.push({
      start: iso(start),
      end: iso(start + bucketSeconds * 1000),
      statuses: { ...current },
      creates: 0,
      pauses: 0,
      wakes: 0,
      kills: 0,
      webhooks: Object.fromEntries(WEBHOOK_OUTCOMES.map((o) => [o, 0])) as OverviewBucket['webhooks'],
      lateness: { count: 0, medianMs: null, maxMs: null },
      ...options.bucket?.(i),
    });
  }
  return {
    window,
    from: iso(from),
    to: iso(to),
    bucketSeconds,
    coveredFrom: iso(from),
    truncated: options.truncated ?? false,
    current,
    buckets,
    savings: { runningHours: 0, withoutIdlePausesHours: 0, savedHours: 0, idlePauses: 0, ...options.savings },
  };
}

/** One policy's line of a replay: all zero but what `overrides` says. */
export function makeReplayResult(policy: IdlePolicy, overrides: Partial<PolicyReplayResult> = {}): PolicyReplayResult {
  return {
    policy,
    idlePauses: 0,
    regretWakes: 0,
    resumeWaits: 0,
    idleMinutes: 0,
    savedMinutes: 0,
    timeoutChanges: 0,
    preWakes: 0,
    preWakeHits: 0,
    preWakeMisses: 0,
    ...overrides,
  };
}

/**
 * A GET /api/policy/report answer over the 7 days to 2025-01-01: nothing happened, policy fixed
 * without a shadow (no replay), unless `overrides` say otherwise.
 */
export function makePolicyReport(overrides: Partial<PolicyReport> = {}): PolicyReport {
  const from = '2024-12-25T00:00:00.000Z';
  return {
    from,
    to: '2025-01-01T00:00:00.000Z',
    coveredFrom: from,
    truncated: false,
    regretWindowSeconds: 600,
    totals: {
      pauses: 0,
      idlePauses: 0,
      wakes: 0,
      regretWakes: 0,
      resumeWaits: 0,
      savedMinutes: 0,
      resumeWaitMedianMs: null,
      resumeWaitP95Ms: null,
    },
    projects: [],
    projectCount: 0,
    policy: { default: 'fixed', shadow: null },
    replay: null,
    ...overrides,
  };
}

export function makeRun(overrides: Partial<EnforcerRun> = {}): EnforcerRun {
  return {
    id: 1,
    trigger: 'timer',
    startedAt: '2025-01-01T00:02:00.000Z',
    finishedAt: '2025-01-01T00:02:00.120Z',
    checked: 1,
    paused: 1,
    failed: 0,
    errors: [],
    pausedProjects: [],
    ...overrides,
  };
}

export interface RecordedCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  credentials: RequestCredentials | undefined;
  body: unknown;
}

export interface FakeServerOptions {
  sandboxes?: Sandbox[];
  /** When set, every route but /api/session needs this Bearer token or a session cookie. */
  token?: string;
  /** Status that wake moves a PAUSED sandbox to (default RUNNING). */
  wakeTo?: SandboxStatus;
  /** GET /readyz's answer (default: ready, store ok). */
  readiness?: Readiness;
  /** The idle enforcer's runs, newest first (default: one timer run that paused one sandbox). */
  runs?: EnforcerRun[];
  /** GET /api/overview's answer for a window (default: makeOverview with the current counts). */
  overview?: (window: OverviewWindow) => Overview;
  /** GET /api/policy/report's answer for `since` as asked (default: makePolicyReport()). */
  policyReport?: (since: string | null) => PolicyReport;
  /**
   * The deployment's idle policy: a PATCH of `idlePolicy` answers it as `effectiveIdlePolicy`
   * when the project's is null (default fixed).
   */
  idlePolicy?: IdlePolicy;
}

/** An in-memory sandboxd API: `server.fetch` is a vi.fn usable as the client's fetch. */
export function fakeServer(options: FakeServerOptions = {}) {
  const sandboxes = new Map<string, Sandbox>();
  for (const s of options.sandboxes ?? []) sandboxes.set(s.projectId, { ...s });
  const history = new Map<string, HistoryEvent[]>();
  const calls: RecordedCall[] = [];
  let session = false;
  const status503 = new Set<string>();

  const json = (status: number, body?: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { 'Content-Type': 'application/json' },
    });
  const error = (status: number, code: string, message: string) =>
    json(status, { error: { code, message } });

  const change = (projectId: string, patch: Partial<Sandbox>): Sandbox => {
    const prev = sandboxes.get(projectId) ?? makeSandbox({ projectId, version: 0 });
    const next: Sandbox = {
      ...prev,
      ...patch,
      version: prev.version + 1,
      updatedAt: new Date().toISOString(),
    };
    if (next.status !== 'RUNNING') next.pauseAt = null;
    const awake = (s: SandboxStatus) => s === 'RUNNING' || s === 'PAUSING';
    if (!awake(next.status)) next.runningSince = null;
    else if (!awake(prev.status) || prev.version === 0) next.runningSince = next.updatedAt;
    sandboxes.set(projectId, next);
    const events = history.get(projectId) ?? [];
    events.unshift({
      id: `evt-${projectId}-${next.version}`,
      type: `sandbox.lifecycle.${next.status.toLowerCase()}`,
      source: 'api',
      outcome: 'applied',
      at: next.updatedAt,
      status: next.status,
    });
    history.set(projectId, events);
    return next;
  };

  // PATCH …/sandbox: idleTimeoutSeconds and idlePolicy, alone or together, as the server checks them.
  const patch = (projectId: string, fields: Record<string, unknown>): Response => {
    const next: Partial<Sandbox> = {};
    for (const [key, value] of Object.entries(fields)) {
      if (key === 'idleTimeoutSeconds') {
        if (typeof value !== 'number' || value <= 0) {
          return error(400, 'invalid_argument', 'idleTimeoutSeconds must be greater than 0');
        }
        next.idleTimeoutSeconds = value;
      } else if (key === 'idlePolicy') {
        if (value !== null && !IDLE_POLICIES.includes(value as IdlePolicy)) {
          return error(400, 'invalid_argument', `unknown idle policy "${String(value)}"`);
        }
        next.idlePolicy = value as IdlePolicy | null;
        next.effectiveIdlePolicy = (value as IdlePolicy | null) ?? options.idlePolicy ?? 'fixed';
      } else {
        return error(400, 'invalid_argument', `unknown field "${key}"`);
      }
    }
    if (Object.keys(next).length === 0) return error(400, 'invalid_argument', 'nothing to change');
    return json(200, change(projectId, next));
  };

  const fetch = vi.fn(async (input: string, init: RequestInit = {}): Promise<Response> => {
    const url = new URL(input, 'http://sandboxd.test');
    const method = (init.method ?? 'GET').toUpperCase();
    const headers = { ...((init.headers as Record<string, string> | undefined) ?? {}) };
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined;
    calls.push({ method, path: url.pathname + url.search, headers, credentials: init.credentials, body });
    const path = url.pathname;
    const auth = headers['Authorization'];

    if (path === '/api/session') {
      if (method === 'POST') {
        if (options.token !== undefined && auth !== `Bearer ${options.token}`) {
          return error(401, 'unauthorized', 'bad token');
        }
        session = true;
        return json(204);
      }
      if (method === 'DELETE') {
        session = false;
        return json(204);
      }
    }
    if (options.token !== undefined && !session && auth !== `Bearer ${options.token}`) {
      return error(401, 'unauthorized', 'sign in first');
    }

    if (path === '/api/sandboxes' && method === 'GET') {
      const status = url.searchParams.get('status');
      const all = [...sandboxes.values()].filter((s) => !status || s.status === status);
      return json(200, { sandboxes: all, nextCursor: null });
    }
    if (path === '/readyz' && method === 'GET') {
      return json(200, options.readiness ?? { status: 'ready', checks: { store: { status: 'ok' } } });
    }
    if (path === '/api/jobs/idle-enforcer/runs' && method === 'GET') {
      const limit = Number(url.searchParams.get('limit') ?? 50);
      const before = url.searchParams.get('before');
      const all = options.runs ?? [makeRun({ checked: sandboxes.size })];
      const runs = all.filter((r) => before === null || r.id < Number(before)).slice(0, limit);
      const nextBefore = runs.length === limit ? runs[runs.length - 1]!.id : null;
      return json(200, { runs, nextBefore });
    }
    if (path === '/api/overview' && method === 'GET') {
      const window = url.searchParams.get('window') ?? '1h';
      if (window !== '1h' && window !== '24h') {
        return error(400, 'invalid_argument', `window must be 1h or 24h, not ${window}`);
      }
      const current: Partial<StatusCounts> = {};
      for (const s of sandboxes.values()) current[s.status] = (current[s.status] ?? 0) + 1;
      return json(200, options.overview?.(window) ?? makeOverview({ window, current }));
    }
    if (path === '/api/policy/report' && method === 'GET') {
      const since = url.searchParams.get('since');
      return json(200, options.policyReport?.(since) ?? makePolicyReport());
    }
    const project = /^\/api\/projects\/([^/]+)$/.exec(path);
    if (project && method === 'DELETE') {
      const id = decodeURIComponent(project[1]!);
      const existing = sandboxes.get(id);
      if (!existing) return error(404, 'not_found', `project ${id} has no record`);
      if (existing.status !== 'KILLED') {
        return error(409, 'failed_precondition', `project ${id} is ${existing.status}; kill it first`);
      }
      const removed = url.searchParams.get('history') === 'remove' ? (history.get(id)?.length ?? 0) : 0;
      sandboxes.delete(id);
      if (removed > 0) history.delete(id);
      return json(200, { projectId: id, historyRemoved: removed });
    }
    const hold = /^\/api\/projects\/([^/]+)\/sandbox\/holds(?:\/([^/]+))?$/.exec(path);
    if (hold) {
      const id = decodeURIComponent(hold[1]!);
      const existing = sandboxes.get(id);
      if (!existing) return error(404, 'not_found', `project ${id} has no sandbox`);
      const holds = existing.holds ?? [];
      if (!hold[2] && method === 'POST') {
        const b = body as { name: string; ttlSeconds: number };
        const expiresAt = new Date(Date.parse('2026-01-01T00:00:00Z') + b.ttlSeconds * 1000).toISOString();
        const next = [...holds.filter((h) => h.name !== b.name), { name: b.name, expiresAt }];
        return json(200, { name: b.name, expiresAt, sandbox: change(id, { holds: next }) });
      }
      if (!hold[2] && method === 'GET') return json(200, { holds });
      if (hold[2] && method === 'DELETE') {
        const name = decodeURIComponent(hold[2]);
        if (!holds.some((h) => h.name === name)) return error(404, 'not_found', `no hold ${name}`);
        change(id, { holds: holds.filter((h) => h.name !== name) });
        return json(204);
      }
    }
    const m = /^\/api\/projects\/([^/]+)\/sandbox(?:\/(activity|wake|pause|history))?$/.exec(path);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      const action = m[2];
      if (status503.has(`${method} ${action ?? ''}`)) return error(503, 'unavailable', 'busy');
      const existing = sandboxes.get(id);
      if (!action && method === 'POST') {
        if (existing && existing.status !== 'KILLED') return json(200, existing);
        return json(201, change(id, { status: 'RUNNING', ...(body ?? {}) }));
      }
      if (!existing) return error(404, 'not_found', `project ${id} has no sandbox`);
      if (!action && method === 'GET') return json(200, existing);
      if (!action && method === 'DELETE') {
        change(id, { status: 'KILLED', url: null });
        return json(204);
      }
      if (!action && method === 'PATCH') return patch(id, (body ?? {}) as Record<string, unknown>);
      if (action === 'activity' && method === 'POST') return json(204);
      if (action === 'wake' && method === 'POST') {
        if (existing.status === 'RUNNING') return json(202, existing);
        return json(202, change(id, { status: options.wakeTo ?? 'RUNNING' }));
      }
      if (action === 'pause' && method === 'POST') return json(202, change(id, { status: 'PAUSED' }));
      if (action === 'history' && method === 'GET') return json(200, { events: history.get(id) ?? [] });
    }
    return error(404, 'not_found', `no route ${method} ${path}`);
  });

  return {
    fetch,
    calls,
    sandboxes,
    /** Server-side state change (bumps the version). */
    change,
    /** Calls matching method and path (path without query string unless it has one). */
    count(method: string, path: string) {
      return calls.filter((c) => c.method === method && (c.path === path || c.path.split('?')[0] === path)).length;
    },
    /** Make one route answer 503: key like 'GET ' (status), 'POST wake'. */
    fail503(key: string, on = true) {
      if (on) status503.add(key);
      else status503.delete(key);
    },
    get signedIn() {
      return session;
    },
  };
}

export type FakeServer = ReturnType<typeof fakeServer>;
