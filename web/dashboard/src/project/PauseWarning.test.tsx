import { act, cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PausePending } from '@sandboxd/client';
import type { useKeepAwake } from '@sandboxd/react';
import { PauseWarning } from './PauseWarning';

// The server's clock when it sent the warning; the browser's clock is set apart from it.
const SERVER_NOW = Date.parse('2025-01-01T00:00:00.000Z');
const warning: PausePending = {
  projectId: 'p1',
  pauseAt: new Date(SERVER_NOW + 30_000).toISOString(),
  secondsLeft: 30,
};
const keepAwake = {
  isPending: false,
  error: null,
  mutate: vi.fn(),
} as unknown as ReturnType<typeof useKeepAwake>;

const countdown = () => screen.getByTestId('countdown');

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('PauseWarning', () => {
  it('counts down secondsLeft from its arrival when the browser clock is fast', async () => {
    vi.setSystemTime(SERVER_NOW + 60_000);
    render(<PauseWarning warning={warning} keepAwake={keepAwake} />);
    expect(countdown().dataset['remaining']).toBe('30');
    expect(countdown().textContent).toBe('0:30');
    await act(async () => {
      await vi.advanceTimersByTimeAsync(1_000);
    });
    expect(countdown().textContent).toBe('0:29');
  });

  it('counts down secondsLeft from its arrival when the browser clock is slow', () => {
    vi.setSystemTime(SERVER_NOW - 60_000);
    render(<PauseWarning warning={warning} keepAwake={keepAwake} />);
    expect(countdown().dataset['remaining']).toBe('30');
    expect(countdown().textContent).toBe('0:30');
  });

  it('counts from when the client library received it, not from when it was first shown', () => {
    vi.setSystemTime(SERVER_NOW);
    const received = { ...warning, receivedAt: performance.now() - 5_000 };
    render(<PauseWarning warning={received} keepAwake={keepAwake} />);
    expect(countdown().textContent).toBe('0:25');
  });

  it('says pausing once secondsLeft have passed since it arrived', async () => {
    vi.setSystemTime(SERVER_NOW);
    render(<PauseWarning warning={warning} keepAwake={keepAwake} />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(30_000);
    });
    expect(countdown().textContent).toBe('pausing…');
  });

  it('starts over from a new warning', async () => {
    vi.setSystemTime(SERVER_NOW + 60_000);
    const { rerender } = render(<PauseWarning warning={warning} keepAwake={keepAwake} />);
    await act(async () => {
      await vi.advanceTimersByTimeAsync(10_000);
    });
    expect(countdown().textContent).toBe('0:20');
    rerender(<PauseWarning warning={{ ...warning, secondsLeft: 30 }} keepAwake={keepAwake} />);
    expect(countdown().textContent).toBe('0:30');
  });
});
