import { useNow } from './Countdown';
import { formatRelative, formatTime } from '../format';

/**
 * A time as people read it: relative ("3m 20s ago", "in 2m 5s"), with the absolute local time
 * and its time zone on hover.
 */
export function Time({ iso, testId }: { iso: string | null | undefined; testId?: string }) {
  const now = useNow(5_000);
  if (!iso) return <span>—</span>;
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  return (
    <time dateTime={iso} title={`${formatTime(iso)} (${zone})`} data-testid={testId}>
      {formatRelative(iso, now)}
    </time>
  );
}
