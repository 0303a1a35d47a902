import { useState } from 'react';
import type { useForgetProject } from '@sandboxd/react';

type HistoryChoice = 'keep' | 'remove';

/**
 * Forget a KILLED project: sandboxd drops its record, so it leaves the list. Never one click:
 * the first opens a confirmation in which the user chooses to keep or remove the project's
 * history, and only then can confirm. The page owns the mutation (it shows its error and leaves
 * for the list once it succeeded).
 */
export function ForgetProject({
  projectId,
  forget,
  onForget,
}: {
  projectId: string;
  forget: ReturnType<typeof useForgetProject>;
  onForget: (removeHistory: boolean) => void;
}) {
  const [confirming, setConfirming] = useState(false);
  const [history, setHistory] = useState<HistoryChoice | null>(null);
  const choice = (value: HistoryChoice, label: string) => (
    <label className="inline">
      <input
        type="radio"
        name="forget-history"
        value={value}
        data-testid={`forget-${value}-history`}
        checked={history === value}
        onChange={() => setHistory(value)}
      />
      {label}
    </label>
  );
  return (
    <div className="forget">
      <button
        type="button"
        className="danger"
        data-testid="forget-button"
        disabled={forget.isPending || confirming}
        onClick={() => {
          setHistory(null);
          setConfirming(true);
        }}
        title="Remove this project from sandboxd's list"
      >
        {forget.isPending ? 'Forgetting…' : 'Forget…'}
      </button>
      {confirming && (
        <form
          data-testid="forget-confirm"
          onSubmit={(ev) => {
            ev.preventDefault();
            if (history === null) return;
            setConfirming(false);
            onForget(history === 'remove');
          }}
        >
          <p>
            Forget <code>{projectId}</code>? sandboxd drops its record: it leaves the list, and a
            later create starts it afresh. Its history:
          </p>
          <div className="row">
            {choice('keep', 'Keep it')}
            {choice('remove', 'Remove it too')}
          </div>
          <div className="row">
            <button type="submit" className="danger" data-testid="forget-confirm-button" disabled={history === null}>
              Forget project
            </button>
            <button type="button" data-testid="forget-cancel" onClick={() => setConfirming(false)}>
              Cancel
            </button>
          </div>
        </form>
      )}
    </div>
  );
}
