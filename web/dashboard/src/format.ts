/** "2:05", "1:02:03"; negative → "0:00". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Local date-time of an RFC 3339 timestamp, or "—". */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  return new Date(t).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** "45s", "3m 20s", "2h 5m", "3d": a span of whole seconds. */
function formatSpan(s: number): string {
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d`;
}

/** "3m 20s ago"-style age of a timestamp relative to now. */
export function formatAge(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const s = Math.round((now - t) / 1000);
  if (s < 5) return 'just now';
  return `${formatSpan(s)} ago`;
}

/** Like formatAge, and "in 3m 20s" for a time still to come. */
export function formatRelative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const ahead = Math.round((t - now) / 1000);
  return ahead >= 5 ? `in ${formatSpan(ahead)}` : formatAge(iso, now);
}

/**
 * How long a sandbox has been up since `runningSince`: "45 s", "12 min", "3 h 5 min", "2 d 3 h";
 * "—" for null (not running).
 */
export function formatUptime(runningSince: string | null | undefined, now = Date.now()): string {
  if (!runningSince) return '—';
  const t = Date.parse(runningSince);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 24) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** Sandbox-hours: "124 h", "12 h", "1.5 h", "0.25 h" (two digits that matter, at most). */
export function formatHours(hours: number): string {
  if (!Number.isFinite(hours)) return '—';
  if (hours === 0) return '0 h';
  // Under a tenth of an hour, minutes say more than "0.00 h".
  if (Math.abs(hours) < 0.1) {
    const minutes = hours * 60;
    return `${Math.abs(minutes) >= 1 ? minutes.toFixed(0) : minutes.toFixed(1)} min`;
  }
  const digits = Math.abs(hours) >= 10 ? 0 : Math.abs(hours) >= 1 ? 1 : 2;
  return `${hours.toFixed(digits)} h`;
}

/** A short wait: "480 ms", "2.1 s", "45 s"; "—" for null (none measured). */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}

export function formatSeconds(seconds: number): string {
  if (seconds % 3600 === 0 && seconds >= 3600) return `${seconds / 3600}h`;
  if (seconds % 60 === 0 && seconds >= 60) return `${seconds / 60}m`;
  return `${seconds}s`;
}

/**
 * Seconds of a duration as the CLI writes them: "90s", "3m", "1h30m", "2h", or a bare number
 * of seconds; null for anything else, zero or more than 30 days.
 */
export function parseDuration(text: string): number | null {
  const t = text.trim();
  if (/^\d+$/.test(t)) {
    const n = Number(t);
    return n > 0 && n <= 30 * 86400 ? n : null;
  }
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(t);
  if (!m || t === '') return null;
  const total = Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  return total > 0 && total <= 30 * 86400 ? total : null;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
