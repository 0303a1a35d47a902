export {
  SandboxClientProvider,
  useSandboxClient,
  type LiveOptions,
  type SandboxClientProviderProps,
} from './context.js';
export { sandboxKeys } from './keys.js';
export { STATUS_LABELS, statusLabel, statusTone, type StatusLabelInput, type StatusTone } from './labels.js';
export {
  keepNewest,
  useSandboxStatus,
  type SandboxStatusResult,
  type StatusMode,
  type UseSandboxStatusOptions,
} from './useSandboxStatus.js';
export {
  useCreateSandbox,
  useForgetProject,
  useKeepAwake,
  useKillSandbox,
  usePauseSandbox,
  useSandboxAction,
  useSetIdlePolicy,
  useSetIdleTimeout,
  useWakeSandbox,
} from './mutations.js';
export {
  listInterval,
  useEnforcerRunPages,
  useEnforcerRuns,
  useOverview,
  usePolicyReport,
  useReadiness,
  useSandboxExplanation,
  useSandboxHistory,
  useSandboxList,
} from './queries.js';
