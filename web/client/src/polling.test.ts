import { describe, expect, it } from 'vitest';
import { isNewer, newerSandbox, pollingInterval } from './polling.js';
import { makeSandbox } from './test-utils.js';

describe('pollingInterval (the seed schedule)', () => {
  it.each([
    ['PAUSED', null],
    ['KILLED', null],
    ['RUNNING', 30_000],
    ['STARTING', 5_000],
    ['PAUSING', 5_000],
  ] as const)('%s → %s', (status, expected) => {
    expect(pollingInterval(status)).toBe(expected);
  });

  it('does not poll an unknown status', () => {
    expect(pollingInterval(undefined)).toBeNull();
    expect(pollingInterval(null)).toBeNull();
  });
});

describe('version ordering', () => {
  const v1 = makeSandbox({ version: 1, status: 'RUNNING' });
  const v2 = makeSandbox({ version: 2, status: 'PAUSED' });

  it('keeps the newest version', () => {
    expect(newerSandbox(v1, v2)).toBe(v2);
    expect(newerSandbox(v2, v1)).toBe(v2);
    expect(newerSandbox(undefined, v1)).toBe(v1);
  });

  it('isNewer is strict', () => {
    expect(isNewer(null, v1)).toBe(true);
    expect(isNewer(v1, v2)).toBe(true);
    expect(isNewer(v2, v1)).toBe(false);
    expect(isNewer(v2, makeSandbox({ version: 2 }))).toBe(false);
  });
});
