import { useEffect, useState } from 'react';
import { isApiError } from '@sandboxd/client';
import type { StatusMode } from '@sandboxd/react';

/** How long a dropped stream may take to come back before the page says so. */
export const LOST_AFTER_MS = 4_000;

/**
 * "Connection lost, retrying": shown while the live stream has been reconnecting for a few
 * seconds, or when the last status read could not reach sandboxd (no answer, or a 5xx), so that
 * what the page shows is not taken for the current state. Goes away by itself once the stream or
 * a read succeeds.
 */
export function ConnectionBanner({ mode, error }: { mode: StatusMode; error: Error | null }) {
  const [reconnecting, setReconnecting] = useState(false);
  useEffect(() => {
    if (mode !== 'connecting') {
      setReconnecting(false);
      return undefined;
    }
    const timer = setTimeout(() => setReconnecting(true), LOST_AFTER_MS);
    return () => clearTimeout(timer);
  }, [mode]);
  const unreachable = isApiError(error) && (error.status === 0 || error.status >= 500);
  if (!reconnecting && !unreachable) return null;
  return (
    <p className="error connection-banner" role="alert" data-testid="connection-lost">
      Connection to sandboxd lost — retrying. The status below is the last one received and may be
      out of date.
    </p>
  );
}
