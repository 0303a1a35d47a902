/** Wire types of the sandboxd public REST contract, version 1 (DESIGN.md §7). */

export type SandboxStatus = 'STARTING' | 'RUNNING' | 'PAUSING' | 'PAUSED' | 'KILLED';

export const SANDBOX_STATUSES: readonly SandboxStatus[] = [
  'STARTING',
  'RUNNING',
  'PAUSING',
  'PAUSED',
  'KILLED',
];

export interface SandboxLastError {
  code: string;
  message: string;
  /** RFC 3339 UTC with milliseconds. */
  at: string;
}

export interface Sandbox {
  projectId: string;
  sandboxId: string;
  status: SandboxStatus;
  /**
   * Preview URL of the sandbox: sandboxd's preview gateway,
   * `http://<port>-<sandboxId>.<preview domain>/` (E2B's form). A request to it wakes a paused
   * sandbox and is held until the app answers; traffic through it is activity. Null when the
   * sandbox has none (yet).
   */
  url: string | null;
  /**
   * Under `--preview-auth token`: the token preview requests need (header
   * `e2b-traffic-access-token`, or the cookie the gateway sets for `?sandboxd_preview_token=`).
   * Null (or absent from older servers) when previews are open to whoever knows the URL.
   */
  trafficAccessToken?: string | null;
  template: string;
  idleTimeoutSeconds: number;
  lastActivityAt: string | null;
  /**
   * When the enforcer will pause it absent new activity (the latest busy hold's expiry if later);
   * null unless RUNNING.
   */
  pauseAt: string | null;
  createdAt: string;
  updatedAt: string;
  /** Increments on every change: the newest version wins. */
  version: number;
  lastError: SandboxLastError | null;
  /** Busy holds (POST …/sandbox/holds), by name; absent from older servers. */
  holds?: SandboxHold[];
  /**
   * The newest activity of each source (api, presence, preview, start, …); lastActivityAt is the
   * latest. Absent from older servers.
   */
  activity?: Record<string, string>;
  /**
   * When the sandbox last started running (created or resumed), while it is RUNNING or PAUSING;
   * null otherwise (absent from older servers).
   */
  runningSince?: string | null;
  /** The project's own idle policy; null: the deployment default (absent from older servers). */
  idlePolicy?: IdlePolicy | null;
  /** The idle policy that applies: `idlePolicy`, else the deployment default (absent from older servers). */
  effectiveIdlePolicy?: IdlePolicy;
}

/**
 * How the idle enforcer decides when to pause a project's sandbox: `fixed` (one timeout),
 * `adaptive` (longer after a regret wake, shorter after long idle spells) or `warmup` (fixed, plus
 * resumes shortly before a likely return).
 */
export type IdlePolicy = 'fixed' | 'adaptive' | 'warmup';

export const IDLE_POLICIES: readonly IdlePolicy[] = ['fixed', 'adaptive', 'warmup'];

/** PATCH …/sandbox: the settings to change; fields left out stay as they are. */
export interface SandboxSettings {
  /** 1…604800. */
  idleTimeoutSeconds?: number;
  /** null: back to the deployment default. Older servers refuse the field (400). */
  idlePolicy?: IdlePolicy | null;
}

export interface SandboxHold {
  name: string;
  expiresAt: string;
}

/** POST …/holds answers the hold and the sandbox after it. */
export interface HoldResponse extends SandboxHold {
  sandbox: Sandbox;
}

/** GET /readyz (200): the checks behind readiness, and health entries that are not conditions. */
export interface Readiness {
  status: 'ready';
  checks?: {
    store?: { status: 'ok' };
    /** Only with the E2B provider. `silent`: the reconciler repaired drift no webhook reported. */
    webhooks?: {
      status: 'ok' | 'silent';
      lastVerifiedAt: string | null;
      lastDriftAt: string | null;
      driftSinceLastWebhook: number;
    };
  };
}

export interface HoldsResponse {
  holds: SandboxHold[];
}

export interface CreateSandboxRequest {
  template?: string;
  idleTimeoutSeconds?: number;
  metadata?: Record<string, string>;
}

export type HistoryOutcome = 'applied' | 'duplicate' | 'stale' | 'ignored' | 'orphan';
export type HistorySource = 'webhook' | 'enforcer' | 'api' | 'reconciler' | 'runtime' | 'preview';

export interface HistoryEvent {
  id: string;
  type: string;
  source: HistorySource | string;
  outcome: HistoryOutcome | string;
  at: string;
  status: SandboxStatus | null;
  /** The server may add fields (sandboxId, version, detail, …). */
  [extra: string]: unknown;
}

/** One live reason a STARTING or RUNNING sandbox stays awake (GET …/explain). */
export interface AwakeReason {
  kind: 'activity' | 'presence' | 'hold';
  /** activity: api, presence, preview or start (null for records older than sources). */
  source?: string | null;
  /** hold: its name. */
  name?: string;
  /** activity: when. */
  at?: string | null;
  /** activity: when it alone stops keeping the sandbox awake; hold: its expiry. */
  until?: string | null;
  /** presence: open dashboard streams on the answering server. */
  streams?: number;
}

/** GET …/sandbox/explain: why the sandbox is in its status and what happens next. */
export interface Explanation {
  projectId: string;
  sandboxId: string;
  status: SandboxStatus;
  since: string | null;
  summary: string;
  next: string;
  idleTimeoutSeconds: number;
  lastActivityAt: string;
  pauseAt: string | null;
  awake: AwakeReason[];
  pauseAtSetBy: AwakeReason | null;
  /** The newest activity of each source. */
  activity: Record<string, string>;
  /** The history row that brought the sandbox to its status, with its decision's inputs. */
  cause: Decision | null;
  /** The idle policy's change that set the idle timeout in force; null when a client set it. */
  timeoutSetBy: Decision | null;
  failure: { code: string; message: string; at: string; retry: string } | null;
}

/** A stored decision (a history row) as explain names it. */
export interface Decision {
  type: string;
  source: string;
  by: string;
  at: string;
  detail: string;
  inputs: Record<string, unknown>;
}

/** GET …/sandbox/logs: output lines and the cursor to read on from. */
export interface SandboxLogs {
  lines: string[];
  cursor: string;
  /** Bytes left out (over the read limit, or lost to rotation) before these lines. */
  skipped: number;
}

export interface HistoryResponse {
  events: HistoryEvent[];
  /** Pass as `before` for the older events; null when this page holds the oldest. */
  nextBefore?: number | null;
}

export interface SandboxListQuery {
  status?: SandboxStatus;
  limit?: number;
  cursor?: string;
}

export interface SandboxListResponse {
  sandboxes: Sandbox[];
  nextCursor: string | null;
}

export interface EnforcerRun {
  /** Increasing; pass as `before` to read the runs older than this one. */
  id: number;
  /** What started the run: timer (a sandbox's pauseAt), schedule (the sweep) or failover. */
  trigger?: string;
  startedAt: string;
  finishedAt: string | null;
  checked: number;
  paused: number;
  failed: number;
  /** Error messages (or objects) of the run; shape is informational. */
  errors: unknown;
  /** The projects this run paused (absent from older servers). */
  pausedProjects?: string[];
}

export interface EnforcerRunsResponse {
  runs: EnforcerRun[];
  /** Pass as `before` for the older runs; null when there are none (absent from older servers). */
  nextBefore?: number | null;
}

/** One page of enforcer runs, newest first, and the `before` of the next (older) page. */
export interface EnforcerRunsPage {
  runs: EnforcerRun[];
  nextBefore: number | null;
}

export interface EnforcerRunsQuery {
  /** 1…1000 (server default 50). */
  limit?: number;
  /** A run id: only older runs. */
  before?: number;
}

/** DELETE /api/projects/{id}: the forgotten project and how many history rows went with it. */
export interface ForgetResult {
  projectId: string;
  historyRemoved: number;
}

export interface ForgetOptions {
  /** Remove the project's history too (`history=remove`); default false: kept. */
  removeHistory?: boolean;
}

/** The span GET /api/overview covers: the last hour (60 one-minute buckets) or 24 h (96 of 15 min). */
export type OverviewWindow = '1h' | '24h';

export const OVERVIEW_WINDOWS: readonly OverviewWindow[] = ['1h', '24h'];

export type StatusCounts = Record<SandboxStatus, number>;

/** How the webhook deliveries of a bucket were taken (rejected: refused before recording). */
export type WebhookOutcome = 'applied' | 'duplicate' | 'stale' | 'ignored' | 'orphan' | 'rejected';

export const WEBHOOK_OUTCOMES: readonly WebhookOutcome[] = [
  'applied',
  'duplicate',
  'stale',
  'ignored',
  'orphan',
  'rejected',
];

export interface OverviewBucket {
  start: string;
  end: string;
  /** Sandboxes in each status at the bucket's end. */
  statuses: StatusCounts;
  /** Transitions within the bucket. */
  creates: number;
  pauses: number;
  wakes: number;
  kills: number;
  webhooks: Record<WebhookOutcome, number>;
  /** The idle enforcer's pauses in the bucket: how late each was (pause time − pauseAt), in ms. */
  lateness: { count: number; medianMs: number | null; maxMs: number | null };
}

/** GET /api/overview: the fleet over the last hour or day. */
export interface Overview {
  window: OverviewWindow;
  from: string;
  to: string;
  bucketSeconds: number;
  /** Equals `from` unless `truncated`: buckets before it lack their events. */
  coveredFrom: string;
  truncated: boolean;
  current: StatusCounts;
  /** Oldest first; the last one ends at `to`. */
  buckets: OverviewBucket[];
  savings: {
    /** Sandbox-hours awake (STARTING, RUNNING, PAUSING) in the window. */
    runningHours: number;
    /** What they would have been had the idle enforcer never paused. */
    withoutIdlePausesHours: number;
    savedHours: number;
    idlePauses: number;
  };
}

/** What idle pausing did to one project, or to all of them (GET /api/policy/report). */
export interface PolicyTally {
  /** Sandboxes reaching PAUSED, whoever asked. */
  pauses: number;
  /** The idle enforcer pausing a RUNNING sandbox. */
  idlePauses: number;
  /** PAUSING or PAUSED to STARTING or RUNNING. */
  wakes: number;
  /** Wakes within `regretWindowSeconds` of the idle pause before them. */
  regretWakes: number;
  /** Wakes through sandboxd (to STARTING): a client asked and waited. */
  resumeWaits: number;
  /** Each idle pause until the sandbox was next woken or killed, or now. */
  savedMinutes: number;
}

export interface PolicyReportProject extends PolicyTally {
  projectId: string;
}

/** One policy replayed over the report's idle episodes. */
export interface PolicyReplayResult {
  policy: IdlePolicy;
  idlePauses: number;
  regretWakes: number;
  resumeWaits: number;
  /** Sandbox-minutes paid while idle before a pause (or until the return). */
  idleMinutes: number;
  /** Sandbox-minutes paused. */
  savedMinutes: number;
  timeoutChanges: number;
  preWakes: number;
  preWakeHits: number;
  preWakeMisses: number;
}

export interface PolicyReplay {
  /** Idle episodes of history that every policy was replayed over. */
  episodes: number;
  /** The deployment's default policy and the shadow, in the server's order. */
  policies: PolicyReplayResult[];
  /** What the replay cannot tell, in words. */
  note: string;
}

/** GET /api/policy/report: idle pauses, regret wakes, minutes saved and resume waits since `from`. */
export interface PolicyReport {
  from: string;
  to: string;
  /** Equals `from` unless `truncated`: nothing before it is counted. */
  coveredFrom: string;
  truncated: boolean;
  regretWindowSeconds: number;
  totals: PolicyTally & {
    /** STARTING to RUNNING of the resume waits; null without any. */
    resumeWaitMedianMs: number | null;
    resumeWaitP95Ms: number | null;
  };
  /** The projects with the most regret wakes (then resume waits), at most 50. */
  projects: PolicyReportProject[];
  /** Every project with an idle pause or a wake. */
  projectCount: number;
  /** The deployment's default idle policy and its shadow (absent from older servers). */
  policy?: { default: IdlePolicy; shadow: IdlePolicy | null };
  /** The default and the shadow replayed over the same history; null without a shadow. */
  replay?: PolicyReplay | null;
}

export interface PolicyReportQuery {
  /** A duration back from now (`24h`, `168h`, `720h`) or an RFC 3339 time; server default 7 days. */
  since?: string;
  /** A duration up to 24 h; server default `10m`. */
  regretWindow?: string;
}

export interface ErrorBody {
  error: { code: string; message: string };
}
