export type {
  AwakeReason,
  CreateSandboxRequest,
  Explanation,
  EnforcerRun,
  EnforcerRunsResponse,
  ErrorBody,
  HistoryEvent,
  HistoryOutcome,
  HistoryResponse,
  HistorySource,
  HoldResponse,
  HoldsResponse,
  Readiness,
  Sandbox,
  SandboxHold,
  SandboxLastError,
  SandboxListQuery,
  SandboxListResponse,
  SandboxLogs,
  SandboxStatus,
} from './types.js';
export { SANDBOX_STATUSES } from './types.js';
export { ApiError, isApiError, isNotFound, isUnauthorized } from './errors.js';
export {
  RUNNING_POLL_MS,
  TRANSITION_POLL_MS,
  isNewer,
  newerSandbox,
  pollingInterval,
} from './polling.js';
export {
  SandboxClient,
  createClient,
  type ClientOptions,
  type FetchLike,
  type WakeOptions,
} from './client.js';
export { subscribe } from './subscribe.js';
export type {
  EventSourceConstructor,
  EventSourceLike,
  PausePending,
  SubscribeOptions,
  Subscription,
  SubscriptionMode,
  VisibilitySource,
} from './subscription.js';
export {
  defaultClient,
  setDefaultClient,
  getStatus,
  findStatus,
  createSandbox,
  wake,
  pause,
  kill,
  recordActivity,
  list,
  history,
  enforcerRuns,
  signIn,
  signOut,
} from './default-client.js';
