import { useEffect, useState } from 'react';
import { formatDuration } from '../format';

/** Current time, re-rendering every `periodMs` (default 1 s). */
export function useNow(periodMs = 1_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), periodMs);
    return () => clearInterval(id);
  }, [periodMs]);
  return now;
}

/** How a countdown looks: "2:05", marked soon under 30 s, "pausing…" once due. */
function CountdownView({ remaining, title }: { remaining: number; title: string }) {
  const due = remaining <= 0;
  return (
    <span
      className={`countdown${due ? ' due' : remaining < 30_000 ? ' soon' : ''}`}
      data-testid="countdown"
      data-remaining={Math.max(0, Math.ceil(remaining / 1000))}
      title={title}
    >
      {due ? 'pausing…' : formatDuration(remaining)}
    </span>
  );
}

/** Live countdown to `pauseAt` (null unless RUNNING), updated every second. */
export function Countdown({ pauseAt }: { pauseAt: string | null }) {
  // The tick only re-renders; the time is read at render, so a new `pauseAt`
  // is shown against the current time, not the last tick's.
  useNow();
  const now = Date.now();
  if (!pauseAt) {
    return (
      <span className="countdown muted" data-testid="countdown" data-remaining="">
        —
      </span>
    );
  }
  return (
    <CountdownView
      remaining={Date.parse(pauseAt) - now}
      title={`Pauses at ${new Date(Date.parse(pauseAt)).toLocaleTimeString()} unless there is activity`}
    />
  );
}

/**
 * Live countdown of `seconds` from `since`, a `performance.now()` instant: for a span the server
 * measured ("30 s left"), which the browser's wall clock, maybe set wrong, must not bend.
 */
export function CountdownFrom({ seconds, since }: { seconds: number; since: number }) {
  useNow();
  const remaining = seconds * 1000 - (performance.now() - since);
  return (
    <CountdownView
      remaining={remaining}
      title={`Pauses at ${new Date(Date.now() + remaining).toLocaleTimeString()} unless there is activity`}
    />
  );
}
