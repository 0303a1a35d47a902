import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Countdown } from './Countdown';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-01-01T00:00:00.000Z'));
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('Countdown', () => {
  it('shows a new pauseAt against the current time, not the last tick', async () => {
    const { rerender } = render(<Countdown pauseAt="2025-01-01T00:03:00.000Z" />);
    expect(screen.getByTestId('countdown').dataset.remaining).toBe('180');
    // Activity 900 ms after the last tick moves pauseAt; no tick has run since.
    await act(async () => {
      await vi.advanceTimersByTimeAsync(900);
    });
    rerender(<Countdown pauseAt="2025-01-01T00:03:00.900Z" />);
    expect(screen.getByTestId('countdown').dataset.remaining).toBe('180');
    expect(screen.getByTestId('countdown').textContent).toBe('3:00');
  });

  it('counts down every second and says pausing once due', async () => {
    render(<Countdown pauseAt="2025-01-01T00:00:02.000Z" />);
    expect(screen.getByTestId('countdown').textContent).toBe('0:02');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1_000);
    });
    expect(screen.getByTestId('countdown').textContent).toBe('0:01');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1_000);
    });
    expect(screen.getByTestId('countdown').textContent).toBe('pausing…');
  });
});
