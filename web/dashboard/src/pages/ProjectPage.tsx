import { useEffect } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import {
  sandboxKeys,
  useForgetProject,
  useKeepAwake,
  useKillSandbox,
  usePauseSandbox,
  useSandboxExplanation,
  useSandboxStatus,
  useSetIdlePolicy,
  useSetIdleTimeout,
  useWakeSandbox,
} from '@sandboxd/react';
import { ConnectionBanner } from '../components/ConnectionBanner';
import { CreateSandboxForm } from '../components/CreateSandboxForm';
import { ErrorNote } from '../components/ErrorNote';
import { ActionsCard } from '../project/ActionsCard';
import { DetailsCard } from '../project/DetailsCard';
import { HistoryCard } from '../project/HistoryCard';
import { LogsCard } from '../project/LogsCard';
import { PauseWarning } from '../project/PauseWarning';
import { Preview, decidedIdleTimeoutSeconds, pausedBecause } from '../project/Preview';
import { StatusIndicator } from '../project/StatusIndicator';
import { WhyCard } from '../project/WhyCard';
import { formatSeconds } from '../format';
import { hrefs, navigate } from '../router';

/** One project's sandbox: status, preview (or the Paused panel), actions, history. */
export function ProjectPage({ projectId }: { projectId: string }) {
  const status = useSandboxStatus(projectId);
  const wake = useWakeSandbox(projectId);
  const pause = usePauseSandbox(projectId);
  const kill = useKillSandbox(projectId);
  const keepAwake = useKeepAwake(projectId);
  const setIdleTimeout = useSetIdleTimeout(projectId);
  const setIdlePolicy = useSetIdlePolicy(projectId);
  const forget = useForgetProject(projectId);
  // Once forgotten the project has no sandbox: back to the list rather than offering a create.
  const forgetting = forget.isPending || forget.isSuccess;
  // The Why card's query (one request for both).
  const explanation = useSandboxExplanation(projectId, { enabled: status.sandbox !== undefined && status.sandbox !== null });
  const { sandbox } = status;
  const queryClient = useQueryClient();

  // Lifecycle events (new history rows) change the status, the sandbox or
  // the last error; activity and presence heartbeats only move lastActivityAt
  // and must not refetch the history every few seconds.
  const historyKey = sandbox
    ? `${sandbox.status}|${sandbox.sandboxId ?? ''}|${sandbox.lastError?.at ?? ''}`
    : undefined;
  useEffect(() => {
    if (historyKey !== undefined) {
      void queryClient.invalidateQueries({ queryKey: sandboxKeys.history(projectId) });
    }
  }, [queryClient, projectId, historyKey]);
  // The explanation also changes when a hold is placed or released.
  const holdsKey = sandbox?.holds?.map((h) => `${h.name}@${h.expiresAt}`).join(',');
  const explainKey = historyKey === undefined ? undefined : `${historyKey}|${holdsKey ?? ''}`;
  useEffect(() => {
    if (explainKey !== undefined) {
      void queryClient.invalidateQueries({ queryKey: sandboxKeys.explain(projectId) });
    }
  }, [queryClient, projectId, explainKey]);

  return (
    <section>
      <div className="page-head">
        <div>
          <a href={hrefs.list()} className="muted back">
            ← Sandboxes
          </a>
          <h1>
            Project <code>{projectId}</code>
          </h1>
        </div>
        <StatusIndicator status={status} />
      </div>

      {status.sandbox && <ConnectionBanner mode={status.mode} error={status.error} />}
      {status.error && !status.notFound && <ErrorNote error={status.error} prefix="Could not load the status" />}
      <ErrorNote error={wake.error} prefix="Could not wake" />
      <ErrorNote error={pause.error} prefix="Could not pause" />
      <ErrorNote error={kill.error} prefix="Could not kill" />
      <ErrorNote error={forget.error} prefix="Could not forget the project" />

      {status.notFound && !forgetting && <CreateSandboxForm projectId={projectId} />}
      {status.notFound && forget.isSuccess && (
        <p className="muted" data-testid="forgotten">
          Project forgotten. <a href={hrefs.list()}>Back to the sandboxes</a>.
        </p>
      )}

      {sandbox && (
        <>
          {status.pausePending && (
            <PauseWarning warning={status.pausePending} keepAwake={keepAwake} />
          )}
          <div className="project-grid">
            <DetailsCard sandbox={sandbox} />
            <ActionsCard
              sandbox={sandbox}
              isWaking={status.isWaking}
              pause={pause}
              kill={kill}
              keepAwake={keepAwake}
              setIdleTimeout={setIdleTimeout}
              setIdlePolicy={setIdlePolicy}
              forget={forget}
              onForget={(removeHistory) =>
                forget.mutate({ removeHistory }, { onSuccess: () => navigate(hrefs.list()) })
              }
            />
          </div>
          <Preview
            sandbox={sandbox}
            isWaking={status.isWaking}
            label={status.statusLabel}
            onWake={() => wake.mutate()}
            because={
              explanation.data?.status === 'PAUSED'
                ? pausedBecause(
                    explanation.data.cause,
                    // The timeout of the decision: the sandbox's may have changed since.
                    formatSeconds(decidedIdleTimeoutSeconds(explanation.data.cause) ?? sandbox.idleTimeoutSeconds),
                  )
                : null
            }
          />
          <WhyCard projectId={projectId} sandbox={sandbox} />
          <LogsCard projectId={projectId} />
          <HistoryCard projectId={projectId} />
        </>
      )}
    </section>
  );
}
