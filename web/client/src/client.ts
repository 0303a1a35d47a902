import { ApiError } from './errors.js';
import type {
  CreateSandboxRequest,
  EnforcerRun,
  EnforcerRunsPage,
  EnforcerRunsQuery,
  Explanation,
  EnforcerRunsResponse,
  ForgetOptions,
  ForgetResult,
  HistoryEvent,
  HistoryResponse,
  HoldResponse,
  HoldsResponse,
  Overview,
  OverviewWindow,
  PolicyReport,
  PolicyReportQuery,
  Readiness,
  Sandbox,
  SandboxHold,
  SandboxListQuery,
  SandboxListResponse,
  SandboxLogs,
  SandboxSettings,
} from './types.js';
import { newerSandbox } from './polling.js';
import { subscribe } from './subscribe.js';
import type { SubscriptionClient } from './subscription-client.js';
import type { SubscribeOptions, Subscription } from './subscription.js';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface ClientOptions {
  /**
   * Base URL of the sandboxd server, e.g. `http://127.0.0.1:8080`. Default: '' (same origin as
   * the page, which is how the dashboard is served).
   */
  baseUrl?: string;
  /**
   * API token sent as `Authorization: Bearer <token>` on every call. Browsers normally leave this
   * unset and use the session cookie set by `signIn`.
   */
  token?: string;
  /** fetch implementation (tests, non-browser runtimes). Default: globalThis.fetch. */
  fetch?: FetchLike;
  /** Called with every ApiError before it is thrown (e.g. to show a sign-in form on 401). */
  onError?: (error: ApiError) => void;
}

export interface WakeOptions {
  /** Refetch the status right after the wake request (default true). */
  refetch?: boolean;
}

function encode(id: string): string {
  return encodeURIComponent(id);
}

/**
 * Client of the sandboxd public REST API (DESIGN.md §7). Every method rejects with an ApiError
 * on a non-2xx answer (status 0, code `network_error` when the request could not be made).
 */
export class SandboxClient implements SubscriptionClient {
  readonly baseUrl: string;
  private readonly token: string | undefined;
  private readonly fetchImpl: FetchLike;
  private readonly onError: ((error: ApiError) => void) | undefined;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.token = options.token;
    // Look the global fetch up at call time (and never call it unbound: "Illegal invocation").
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.onError = options.onError;
  }

  /** Absolute (or same-origin relative) URL of an API path. */
  url(path: string): string {
    return `${this.baseUrl}${path}`;
  }

  /**
   * URL of a project's output stream (SSE, `event: lines` frames carrying
   * {lines, cursor, skipped}; `event: end` when the sandbox goes).
   */
  logsFollowUrl(projectId: string, tail?: number): string {
    const qs = tail !== undefined ? `&tail=${encodeURIComponent(String(tail))}` : '';
    return this.url(`/api/projects/${encode(projectId)}/sandbox/logs?follow=1${qs}`);
  }

  /** URL of a project's SSE stream. */
  eventsUrl(projectId: string): string {
    return this.url(`/api/projects/${encode(projectId)}/sandbox/events`);
  }

  private async request<T>(
    method: string,
    path: string,
    body?: unknown,
    extraHeaders?: Record<string, string>,
  ): Promise<T> {
    const headers: Record<string, string> = { Accept: 'application/json' };
    if (this.token) headers['Authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    Object.assign(headers, extraHeaders);
    const init: RequestInit = { method, headers, credentials: 'same-origin' };
    if (body !== undefined) init.body = JSON.stringify(body);

    let res: Response;
    try {
      res = await this.fetchImpl(this.url(path), init);
    } catch (err) {
      throw this.fail(
        new ApiError(0, 'network_error', err instanceof Error ? err.message : String(err)),
      );
    }
    if (!res.ok) throw this.fail(await errorFromResponse(res));
    if (res.status === 204 || res.status === 205) return undefined as T;
    const text = await res.text();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw this.fail(new ApiError(res.status, 'bad_response', 'response is not valid JSON'));
    }
  }

  private fail(error: ApiError): ApiError {
    try {
      this.onError?.(error);
    } catch {
      /* a failing listener must not hide the API error */
    }
    return error;
  }

  /** GET /api/projects/{id}/sandbox. Rejects with ApiError 404 when the project has none. */
  getStatus(projectId: string): Promise<Sandbox> {
    return this.request<Sandbox>('GET', `/api/projects/${encode(projectId)}/sandbox`);
  }

  /** Like getStatus, but resolves null instead of rejecting on 404. */
  async findStatus(projectId: string): Promise<Sandbox | null> {
    try {
      return await this.getStatus(projectId);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) return null;
      throw err;
    }
  }

  /** POST /api/projects/{id}/sandbox: create (201), or the live one (200). */
  create(projectId: string, request: CreateSandboxRequest = {}): Promise<Sandbox> {
    return this.request<Sandbox>('POST', `/api/projects/${encode(projectId)}/sandbox`, request);
  }

  /**
   * POST …/wake (resume if PAUSED, create anew if KILLED), then immediately refetch the status
   * (unless `refetch: false`). Resolves to the newest of the two snapshots (by version).
   */
  async wake(projectId: string, options: WakeOptions = {}): Promise<Sandbox> {
    const woken = await this.request<Sandbox>(
      'POST',
      `/api/projects/${encode(projectId)}/sandbox/wake`,
    );
    if (options.refetch === false) return woken;
    const fresh = await this.getStatus(projectId);
    return newerSandbox<Sandbox>(woken, fresh);
  }

  /**
   * PATCH …/sandbox: change the settings given (the idle timeout, the idle policy); the others
   * stay. Rejects with 400 `invalid_argument` for a value the server refuses (an older server
   * refuses `idlePolicy` as an unknown field).
   */
  updateSettings(projectId: string, settings: SandboxSettings): Promise<Sandbox> {
    return this.request<Sandbox>('PATCH', `/api/projects/${encode(projectId)}/sandbox`, settings);
  }

  /** PATCH …/sandbox: a new idle timeout, in seconds (> 0). */
  setIdleTimeout(projectId: string, idleTimeoutSeconds: number): Promise<Sandbox> {
    return this.updateSettings(projectId, { idleTimeoutSeconds });
  }

  /** POST …/pause: pause now. */
  pause(projectId: string): Promise<Sandbox> {
    return this.request<Sandbox>('POST', `/api/projects/${encode(projectId)}/sandbox/pause`);
  }

  /** DELETE …/sandbox: kill (the object stays, status KILLED). */
  async kill(projectId: string): Promise<void> {
    await this.request<void>('DELETE', `/api/projects/${encode(projectId)}/sandbox`);
  }

  /** POST …/activity: keeps the sandbox alive for another idle timeout. */
  async recordActivity(projectId: string): Promise<void> {
    await this.request<void>('POST', `/api/projects/${encode(projectId)}/sandbox/activity`);
  }

  /**
   * POST …/holds: a busy hold named `name` for `ttlSeconds` (placing the same name renews it).
   * The enforcer does not pause the sandbox while an unexpired hold exists.
   */
  placeHold(projectId: string, name: string, ttlSeconds: number): Promise<HoldResponse> {
    return this.request<HoldResponse>('POST', `/api/projects/${encode(projectId)}/sandbox/holds`, {
      name,
      ttlSeconds,
    });
  }

  /** GET …/holds: the unexpired holds, by name. */
  async listHolds(projectId: string): Promise<SandboxHold[]> {
    const body = await this.request<HoldsResponse>(
      'GET',
      `/api/projects/${encode(projectId)}/sandbox/holds`,
    );
    return body?.holds ?? [];
  }

  /** DELETE …/holds/{name}: release a hold. */
  async releaseHold(projectId: string, name: string): Promise<void> {
    await this.request<void>(
      'DELETE',
      `/api/projects/${encode(projectId)}/sandbox/holds/${encode(name)}`,
    );
  }

  /** GET …/explain: why the sandbox is awake or paused, who decided, what happens next. */
  explain(projectId: string): Promise<Explanation> {
    return this.request<Explanation>('GET', `/api/projects/${encode(projectId)}/sandbox/explain`);
  }

  /**
   * GET …/logs: the last `tail` lines of a local sandbox's output, or what it
   * wrote after `after` (a cursor from an earlier answer).
   */
  logs(projectId: string, query: { tail?: number; after?: string } = {}): Promise<SandboxLogs> {
    const params = new URLSearchParams();
    if (query.tail !== undefined) params.set('tail', String(query.tail));
    if (query.after !== undefined) params.set('after', query.after);
    const qs = params.toString();
    return this.request<SandboxLogs>(
      'GET',
      `/api/projects/${encode(projectId)}/sandbox/logs${qs ? `?${qs}` : ''}`,
    );
  }

  /** GET /readyz: rejects with ApiError 503 while the store is unreachable. */
  readiness(): Promise<Readiness> {
    return this.request<Readiness>('GET', '/readyz');
  }

  /** GET /api/sandboxes?status=&limit=&cursor= */
  list(query: SandboxListQuery = {}): Promise<SandboxListResponse> {
    const params = new URLSearchParams();
    if (query.status) params.set('status', query.status);
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.cursor) params.set('cursor', query.cursor);
    const qs = params.toString();
    return this.request<SandboxListResponse>('GET', `/api/sandboxes${qs ? `?${qs}` : ''}`);
  }

  /** GET …/history?before=&limit=: one page of events, newest first, and the next page's `before`. */
  async historyPage(
    projectId: string,
    query: { before?: number; limit?: number } = {},
  ): Promise<HistoryResponse> {
    const params = new URLSearchParams();
    if (query.before !== undefined) params.set('before', String(query.before));
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    const qs = params.toString();
    const body = await this.request<HistoryResponse>(
      'GET',
      `/api/projects/${encode(projectId)}/sandbox/history${qs ? `?${qs}` : ''}`,
    );
    return { events: body?.events ?? [], nextBefore: body?.nextBefore ?? null };
  }

  /** GET …/history: events newest first. */
  async history(projectId: string): Promise<HistoryEvent[]> {
    const body = await this.request<HistoryResponse>(
      'GET',
      `/api/projects/${encode(projectId)}/sandbox/history`,
    );
    return body?.events ?? [];
  }

  /** GET /api/jobs/idle-enforcer/runs?limit= */
  async enforcerRuns(limit?: number): Promise<EnforcerRun[]> {
    const page = await this.enforcerRunsPage(limit !== undefined ? { limit } : {});
    return page.runs;
  }

  /**
   * GET /api/jobs/idle-enforcer/runs?limit=&before=: one page of runs, newest first, and the
   * next (older) page's `before`.
   */
  async enforcerRunsPage(query: EnforcerRunsQuery = {}): Promise<EnforcerRunsPage> {
    const params = new URLSearchParams();
    if (query.limit !== undefined) params.set('limit', String(query.limit));
    if (query.before !== undefined) params.set('before', String(query.before));
    const qs = params.toString();
    const body = await this.request<EnforcerRunsResponse>(
      'GET',
      `/api/jobs/idle-enforcer/runs${qs ? `?${qs}` : ''}`,
    );
    return { runs: body?.runs ?? [], nextBefore: body?.nextBefore ?? null };
  }

  /** GET /api/overview?window=: the fleet's statuses, transitions and savings over 1 h or 24 h. */
  overview(window: OverviewWindow = '1h'): Promise<Overview> {
    return this.request<Overview>('GET', `/api/overview?window=${encodeURIComponent(window)}`);
  }

  /**
   * GET /api/policy/report?since=&regretWindow=: what idle pausing did since then, and (with a
   * shadow policy) the default and the shadow replayed over the same history.
   */
  policyReport(query: PolicyReportQuery = {}): Promise<PolicyReport> {
    const params = new URLSearchParams();
    if (query.since !== undefined) params.set('since', query.since);
    if (query.regretWindow !== undefined) params.set('regretWindow', query.regretWindow);
    const qs = params.toString();
    return this.request<PolicyReport>('GET', `/api/policy/report${qs ? `?${qs}` : ''}`);
  }

  /**
   * DELETE /api/projects/{id}?history=keep|remove: forgets a KILLED project's record (and its
   * history with `removeHistory`). Rejects with 409 `failed_precondition` unless the sandbox is
   * KILLED, 404 when the project has no record.
   */
  forgetProject(projectId: string, options: ForgetOptions = {}): Promise<ForgetResult> {
    const history = options.removeHistory ? 'remove' : 'keep';
    return this.request<ForgetResult>('DELETE', `/api/projects/${encode(projectId)}?history=${history}`);
  }

  /** POST /api/session with the token as Bearer: the server answers with an HttpOnly cookie. */
  async signIn(token: string): Promise<void> {
    await this.request<void>('POST', '/api/session', undefined, {
      Authorization: `Bearer ${token}`,
    });
  }

  /** DELETE /api/session: sign out (clears the cookie). */
  async signOut(): Promise<void> {
    await this.request<void>('DELETE', '/api/session');
  }

  /**
   * Live status of one project: SSE with reconnect and polling fallback, deduplicated by version,
   * closed while the page is hidden. See `subscribe` in subscribe.ts and its state machine in
   * live-status.ts.
   */
  subscribe(
    projectId: string,
    onSandbox: (sandbox: Sandbox) => void,
    options: Omit<SubscribeOptions, 'client'> = {},
  ): Subscription {
    return subscribe(projectId, onSandbox, { ...options, client: this });
  }
}

async function errorFromResponse(res: Response): Promise<ApiError> {
  let code = `http_${res.status}`;
  let message = res.statusText || `HTTP ${res.status}`;
  try {
    const text = await res.text();
    if (text) {
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      if (body && typeof body === 'object' && body.error) {
        if (typeof body.error.code === 'string') code = body.error.code;
        if (typeof body.error.message === 'string') message = body.error.message;
      }
    }
  } catch {
    /* not JSON: keep the generic code and message */
  }
  return new ApiError(res.status, code, message);
}

/** A client for the given options (default: same origin, cookie auth). */
export function createClient(options: ClientOptions = {}): SandboxClient {
  return new SandboxClient(options);
}
