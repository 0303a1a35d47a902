import { describe, expect, it } from 'vitest';
import { makePolicyReport } from '../../../client/src/test-utils';
import { isQuiet, regretShare, reportSpan, spanLabel } from './data';

const TO = '2025-01-01T00:00:00.000Z';

describe('policy report in words', () => {
  it('names the span a report covers from its own from and to', () => {
    expect(reportSpan({ from: '2024-12-31T00:00:00.000Z', to: TO })).toBe('24h');
    expect(spanLabel({ from: '2024-12-25T00:00:00.000Z', to: TO })).toBe('the last 7 days');
    expect(spanLabel({ from: '2024-12-02T00:00:00.000Z', to: TO })).toBe('the last 30 days');
    // A span the page does not offer (an RFC 3339 since) is said as it is.
    expect(spanLabel({ from: '2024-12-31T18:00:00.000Z', to: TO })).toBe('since 2024-12-31T18:00:00.000Z');
  });

  it('has a regret share only when there were wakes', () => {
    expect(regretShare({ wakes: 28, regretWakes: 7 })).toBe(0.25);
    expect(regretShare({ wakes: 0, regretWakes: 0 })).toBeNull();
  });

  it('is quiet without pauses, wakes or projects', () => {
    expect(isQuiet(makePolicyReport())).toBe(true);
    const report = makePolicyReport();
    expect(isQuiet({ ...report, totals: { ...report.totals, pauses: 1 } })).toBe(false);
    expect(isQuiet({ ...report, projectCount: 1 })).toBe(false);
  });
});
