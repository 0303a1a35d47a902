import { describe, expect, it } from 'vitest';
import {
  formatAge,
  formatHours,
  formatMs,
  formatRelative,
  formatSeconds,
  formatUptime,
  parseDuration,
} from './format';

describe('parseDuration', () => {
  it('reads durations as the CLI writes them', () => {
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('3m')).toBe(180);
    expect(parseDuration(' 1h30m ')).toBe(5400);
    expect(parseDuration('2h')).toBe(7200);
    expect(parseDuration('1m30s')).toBe(90);
    expect(parseDuration('45')).toBe(45);
  });
  it('refuses what is no duration, zero and more than 30 days', () => {
    for (const bad of ['', 'abc', '3 m', '-5m', '0', '0s', '1.5m', 'm', '31d', '721h', '3m1h']) {
      expect(parseDuration(bad), bad).toBeNull();
    }
  });
  it('round-trips with formatSeconds', () => {
    for (const s of [30, 90, 180, 3600, 7200]) expect(parseDuration(formatSeconds(s))).toBe(s);
  });
});

describe('relative times', () => {
  const now = Date.parse('2025-01-01T12:00:00.000Z');
  it('says how long ago, or how long until', () => {
    expect(formatAge('2025-01-01T11:56:40.000Z', now)).toBe('3m 20s ago');
    expect(formatAge('2025-01-01T11:59:58.000Z', now)).toBe('just now');
    expect(formatRelative('2025-01-01T12:02:05.000Z', now)).toBe('in 2m 5s');
    expect(formatRelative('2025-01-01T09:00:00.000Z', now)).toBe('3h 0m ago');
    expect(formatRelative('2025-01-04T12:00:00.000Z', now)).toBe('in 3d');
    expect(formatRelative(null, now)).toBe('—');
  });
});

describe('formatUptime', () => {
  const now = Date.parse('2025-01-03T12:00:00.000Z');
  it('says how long a sandbox has been running, coarser as it grows', () => {
    expect(formatUptime('2025-01-03T11:59:15.000Z', now)).toBe('45 s');
    expect(formatUptime('2025-01-03T11:48:00.000Z', now)).toBe('12 min');
    expect(formatUptime('2025-01-03T09:00:00.000Z', now)).toBe('3 h');
    expect(formatUptime('2025-01-03T08:55:00.000Z', now)).toBe('3 h 5 min');
    expect(formatUptime('2025-01-01T09:00:00.000Z', now)).toBe('2 d 3 h');
    expect(formatUptime('2025-01-01T12:00:00.000Z', now)).toBe('2 d');
  });
  it('is a dash while not running, and never negative', () => {
    expect(formatUptime(null, now)).toBe('—');
    expect(formatUptime(undefined, now)).toBe('—');
    expect(formatUptime('2025-01-03T12:00:05.000Z', now)).toBe('0 s');
  });
});

describe('formatHours', () => {
  it('keeps two digits that matter', () => {
    expect(formatHours(124.4)).toBe('124 h');
    expect(formatHours(1.54)).toBe('1.5 h');
    expect(formatHours(0.254)).toBe('0.25 h');
    expect(formatHours(0)).toBe('0 h');
    expect(formatHours(0.05)).toBe('3 min');
    expect(formatHours(0.005)).toBe('0.3 min');
  });
});

describe('formatMs', () => {
  it('says a wait in ms under a second, in seconds above', () => {
    expect(formatMs(480)).toBe('480 ms');
    expect(formatMs(0.4)).toBe('0 ms');
    expect(formatMs(2100)).toBe('2.1 s');
    expect(formatMs(45_400)).toBe('45 s');
    expect(formatMs(null)).toBe('—');
  });
});
