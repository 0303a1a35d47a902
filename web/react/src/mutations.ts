import { useMutation, useQueryClient, type QueryClient } from '@tanstack/react-query';
import {
  newerSandbox,
  type CreateSandboxRequest,
  type ForgetOptions,
  type IdlePolicy,
  type Sandbox,
  type SandboxSettings,
} from '@sandboxd/client';
import { useSandboxClient } from './context.js';
import { sandboxKeys } from './keys.js';

function store(queryClient: QueryClient, sandbox: Sandbox) {
  queryClient.setQueryData<Sandbox | null>(sandboxKeys.status(sandbox.projectId), (old) =>
    newerSandbox(old, sandbox),
  );
}

/** Refetch now the project's status (and history) and the lists. */
async function refresh(queryClient: QueryClient, projectId: string) {
  await Promise.all([
    queryClient.invalidateQueries({ queryKey: sandboxKeys.status(projectId) }),
    queryClient.invalidateQueries({ queryKey: sandboxKeys.lists() }),
  ]);
}

/**
 * Wake (resume if PAUSED, create anew if KILLED). On success the answer is written to the cache
 * and the status query is refetched immediately; the mutation (and so `isWaking` / "Waking…")
 * lasts until that refetch has answered.
 */
export function useWakeSandbox(projectId: string) {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: sandboxKeys.wake(projectId),
    mutationFn: () => client.wake(projectId, { refetch: false }),
    onSuccess: async (sandbox) => {
      store(queryClient, sandbox);
      await refresh(queryClient, projectId);
    },
  });
}

export function usePauseSandbox(projectId: string) {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ['sandbox', projectId, 'pause'],
    mutationFn: () => client.pause(projectId),
    onSuccess: async (sandbox) => {
      store(queryClient, sandbox);
      await refresh(queryClient, projectId);
    },
  });
}

/**
 * Keep awake: records activity (POST …/activity), which moves `pauseAt` one idle timeout ahead
 * and so ends a `pause_pending` warning. The status is refetched after.
 */
export function useKeepAwake(projectId: string) {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ['sandbox', projectId, 'activity'],
    mutationFn: () => client.recordActivity(projectId),
    onSuccess: () => refresh(queryClient, projectId),
  });
}

/**
 * PATCH one setting, as `settings(value)` says; the answer goes to the cache. Each setting is its
 * own mutation (`name` in its key), so each control has its own pending state and error.
 */
function useSettingMutation<T>(projectId: string, name: string, settings: (value: T) => SandboxSettings) {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ['sandbox', projectId, name],
    mutationFn: (value: T) => client.updateSettings(projectId, settings(value)),
    onSuccess: async (sandbox) => {
      store(queryClient, sandbox);
      await refresh(queryClient, projectId);
    },
  });
}

/** PATCH the idle timeout (seconds); the answer goes to the cache. */
export function useSetIdleTimeout(projectId: string) {
  return useSettingMutation(projectId, 'idle-timeout', (seconds: number) => ({ idleTimeoutSeconds: seconds }));
}

/** PATCH the idle policy (null: back to the deployment default); the answer goes to the cache. */
export function useSetIdlePolicy(projectId: string) {
  return useSettingMutation(projectId, 'idle-policy', (policy: IdlePolicy | null) => ({ idlePolicy: policy }));
}

export function useKillSandbox(projectId: string) {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ['sandbox', projectId, 'kill'],
    mutationFn: () => client.kill(projectId),
    onSuccess: () => refresh(queryClient, projectId),
  });
}

export function useCreateSandbox(projectId: string) {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ['sandbox', projectId, 'create'],
    mutationFn: (request: CreateSandboxRequest = {}) => client.create(projectId, request),
    onSuccess: async (sandbox) => {
      store(queryClient, sandbox);
      await refresh(queryClient, projectId);
    },
  });
}

/**
 * Forget a KILLED project (DELETE /api/projects/{id}), keeping its history unless
 * `removeHistory`. Afterwards the project has no sandbox: its status is null at once, its other
 * queries are dropped, and the lists, the overview and the policy report are read again.
 */
export function useForgetProject(projectId: string) {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationKey: ['sandbox', projectId, 'forget'],
    mutationFn: (options: ForgetOptions = {}) => client.forgetProject(projectId, options),
    onSuccess: async () => {
      const status = sandboxKeys.status(projectId);
      await queryClient.cancelQueries({ queryKey: status });
      queryClient.removeQueries({ queryKey: status, predicate: (q) => q.queryKey.length > status.length });
      queryClient.setQueryData<Sandbox | null>(status, null);
      await Promise.all([
        queryClient.invalidateQueries({ queryKey: sandboxKeys.lists() }),
        queryClient.invalidateQueries({ queryKey: sandboxKeys.overviews() }),
        queryClient.invalidateQueries({ queryKey: sandboxKeys.policyReports() }),
      ]);
    },
  });
}

/** Wake/pause/kill a sandbox of any project (list rows). */
export function useSandboxAction() {
  const client = useSandboxClient();
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async ({ projectId, action }: { projectId: string; action: 'wake' | 'pause' | 'kill' }) => {
      if (action === 'wake') return client.wake(projectId, { refetch: false });
      if (action === 'pause') return client.pause(projectId);
      await client.kill(projectId);
      return null;
    },
    onSuccess: async (sandbox, { projectId }) => {
      if (sandbox) store(queryClient, sandbox);
      await refresh(queryClient, projectId);
    },
  });
}
