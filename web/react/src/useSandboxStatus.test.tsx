import { act, fireEvent, renderHook, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useSandboxStatus } from './useSandboxStatus.js';
import { useWakeSandbox } from './mutations.js';
import { cleanup, harness, makeSandbox, tick } from './test-utils.js';

const STATUS = '/api/projects/p1/sandbox';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('useSandboxStatus: polling (no SSE)', () => {
  it.each([
    ['RUNNING', 30_000],
    ['STARTING', 5_000],
    ['PAUSING', 5_000],
  ] as const)('polls every %s ms while %s', async (status, interval) => {
    const h = harness({ eventSource: false, sandboxes: [makeSandbox({ status })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    expect(result.current.status).toBe(status);
    expect(result.current.mode).toBe('polling');
    const base = h.server.count('GET', STATUS);
    await tick(interval - 1);
    expect(h.server.count('GET', STATUS)).toBe(base);
    await tick(1);
    expect(h.server.count('GET', STATUS)).toBe(base + 1);
    await tick(interval);
    expect(h.server.count('GET', STATUS)).toBe(base + 2);
  });

  it.each(['PAUSED', 'KILLED'] as const)('does not poll while %s', async (status) => {
    const h = harness({ eventSource: false, sandboxes: [makeSandbox({ status })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    expect(result.current.status).toBe(status);
    const base = h.server.count('GET', STATUS);
    await tick(60 * 60_000);
    expect(h.server.count('GET', STATUS)).toBe(base);
  });

  it('adapts the interval when the status changes', async () => {
    const h = harness({ eventSource: false, sandboxes: [makeSandbox({ status: 'RUNNING' })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    h.server.change('p1', { status: 'PAUSED' });
    await tick(30_000);
    expect(result.current.status).toBe('PAUSED');
    const base = h.server.count('GET', STATUS);
    await tick(10 * 60_000);
    expect(h.server.count('GET', STATUS)).toBe(base);
  });

  it('fetches once on mount, not once more when the subscription falls back to polling', async () => {
    const h = harness({ eventSource: false, sandboxes: [makeSandbox({ status: 'RUNNING' })] });
    renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    await tick(1_000);
    expect(h.server.count('GET', STATUS)).toBe(1);
  });

  it('stops polling while the page is hidden', async () => {
    const h = harness({ eventSource: false, sandboxes: [makeSandbox({ status: 'STARTING' })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    act(() => h.doc.setVisibility('hidden'));
    await tick();
    expect(result.current.mode).toBe('hidden');
    const base = h.server.count('GET', STATUS);
    await tick(10 * 60_000);
    expect(h.server.count('GET', STATUS)).toBe(base);
    act(() => h.doc.setVisibility('visible'));
    await tick();
    expect(result.current.mode).toBe('polling');
    expect(h.server.count('GET', STATUS)).toBe(base + 1); // refetch on return
    await tick(5_000);
    expect(h.server.count('GET', STATUS)).toBe(base + 2); // STARTING → 5 s again
  });

  it('reports a project without a sandbox', async () => {
    const h = harness({ eventSource: false });
    const { result } = renderHook(() => useSandboxStatus('nope'), { wrapper: h.wrapper });
    expect(result.current.statusLabel).toBe('Loading…');
    await tick();
    expect(result.current.notFound).toBe(true);
    expect(result.current.sandbox).toBeNull();
    expect(result.current.statusLabel).toBe('No sandbox');
    expect(h.ES.instances).toHaveLength(0);
  });
});

describe('useSandboxStatus: SSE', () => {
  it('turns polling off while the stream is live and writes events into the cache', async () => {
    const h = harness({ sandboxes: [makeSandbox({ status: 'RUNNING', version: 1 })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    expect(h.ES.instances).toHaveLength(1);
    act(() => h.ES.last!.accept());
    await tick();
    expect(result.current.mode).toBe('sse');

    const base = h.server.count('GET', STATUS);
    await tick(10 * 60_000);
    expect(h.server.count('GET', STATUS)).toBe(base); // no polling while live

    act(() => h.ES.last!.send(makeSandbox({ status: 'PAUSED', version: 5 })));
    await tick();
    expect(result.current.status).toBe('PAUSED');
    expect(h.queryClient.getQueryData(['sandbox', 'p1'])).toMatchObject({ version: 5 });

    // Older versions never overwrite newer ones, whether streamed or polled.
    act(() => h.ES.last!.send(makeSandbox({ status: 'RUNNING', version: 4 })));
    await tick();
    expect(result.current.status).toBe('PAUSED');
    await act(() => result.current.refetch()); // server still says version 1
    expect(result.current.sandbox!.version).toBe(5);
  });

  it('shows the new record of a project forgotten and made again while the page is open', async () => {
    const h = harness({ sandboxes: [makeSandbox({ status: 'RUNNING', version: 1 })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    act(() => h.ES.last!.accept());
    act(() => h.ES.last!.send(makeSandbox({ status: 'RUNNING', version: 6, sandboxId: 'sbx-old' })));
    await tick();
    expect(result.current.sandbox!.version).toBe(6);

    // Forgotten and made again (version 1) before the browser's reconnect.
    h.server.sandboxes.set('p1', makeSandbox({ status: 'STARTING', version: 1, sandboxId: 'sbx-new' }));
    act(() => h.ES.last!.sendEvent('end', JSON.stringify({ code: 'not_found', message: 'gone' })));
    await tick();
    expect(result.current.sandbox).toMatchObject({ sandboxId: 'sbx-new', version: 1 });
    expect(result.current.status).toBe('STARTING');
  });

  it('on a project without a sandbox, retries the stream (no polling) and shows one made elsewhere', async () => {
    const h = harness({});
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    expect(result.current.notFound).toBe(true);
    expect(h.ES.instances).toHaveLength(1);
    act(() => h.ES.last!.fail(true)); // 404
    await tick();
    expect(result.current.mode).toBe('polling');
    const gets = h.server.count('GET', STATUS);
    // Retries after 1, 2, 4, 8, 16 s, each refused; no status polls meanwhile.
    for (let second = 0; second < 60; second++) {
      await tick(1_000);
      if (!h.ES.last!.closed) act(() => h.ES.last!.fail(true));
    }
    expect(h.ES.instances).toHaveLength(6);
    expect(h.server.count('GET', STATUS)).toBe(gets);

    h.server.sandboxes.set('p1', makeSandbox({ status: 'RUNNING', version: 1, sandboxId: 'sbx-new' }));
    await tick(30_000); // the next retry (the backoff's cap) opens
    expect(h.ES.instances).toHaveLength(7);
    act(() => h.ES.last!.accept());
    act(() => h.ES.last!.send(makeSandbox({ status: 'RUNNING', version: 1, sandboxId: 'sbx-new' })));
    await tick();
    expect(result.current.mode).toBe('sse');
    expect(result.current.sandbox).toMatchObject({ sandboxId: 'sbx-new' });
  });

  it('a sandbox made from the page opens the stream at once, not after the backoff', async () => {
    const h = harness({});
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    act(() => h.ES.last!.fail(true)); // 404
    await tick(10_000);
    const attempts = h.ES.instances.length;
    act(() => {
      h.queryClient.setQueryData(['sandbox', 'p1'], makeSandbox({ status: 'STARTING', version: 1 }));
    });
    await tick();
    expect(h.ES.instances.length).toBe(attempts + 1);
    act(() => h.ES.last!.accept());
    await tick();
    expect(result.current.mode).toBe('sse');
  });

  it('exposes pause_pending until pauseAt moves or the sandbox pauses', async () => {
    const pauseAt = '2026-01-01T00:03:00.000Z';
    const h = harness({ sandboxes: [makeSandbox({ status: 'RUNNING', version: 1, pauseAt })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    act(() => h.ES.last!.accept());
    await tick();
    expect(result.current.pausePending).toBeNull();
    act(() =>
      h.ES.last!.sendEvent('pause_pending', JSON.stringify({ projectId: 'p1', pauseAt, secondsLeft: 30 })),
    );
    await tick();
    expect(result.current.pausePending).toEqual({
      projectId: 'p1',
      pauseAt,
      secondsLeft: 30,
      receivedAt: expect.any(Number),
    });
    // Keep awake: activity moves pauseAt, which ends the warning.
    act(() =>
      h.ES.last!.send(
        makeSandbox({ status: 'RUNNING', version: 2, pauseAt: '2026-01-01T00:04:00.000Z' }),
      ),
    );
    await tick();
    expect(result.current.pausePending).toBeNull();
    // A warning for the new pauseAt, then the pause itself ends it too.
    act(() =>
      h.ES.last!.sendEvent(
        'pause_pending',
        JSON.stringify({ projectId: 'p1', pauseAt: '2026-01-01T00:04:00.000Z', secondsLeft: 30 }),
      ),
    );
    await tick();
    expect(result.current.pausePending?.pauseAt).toBe('2026-01-01T00:04:00.000Z');
    act(() => h.ES.last!.send(makeSandbox({ status: 'PAUSING', version: 3, pauseAt: null })));
    await tick();
    expect(result.current.pausePending).toBeNull();
  });

  it('falls back to the polling schedule when the stream is refused, and back to SSE', async () => {
    const h = harness({ sandboxes: [makeSandbox({ status: 'RUNNING' })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    act(() => h.ES.last!.fail(true)); // 503
    await tick();
    expect(result.current.mode).toBe('polling');
    const base = h.server.count('GET', STATUS);
    await tick(30_000);
    expect(h.server.count('GET', STATUS)).toBeGreaterThan(base);

    // The reconnect attempt (backoff) succeeds: polling stops.
    act(() => h.ES.last!.accept());
    await tick();
    expect(result.current.mode).toBe('sse');
    const after = h.server.count('GET', STATUS);
    await tick(5 * 60_000);
    expect(h.server.count('GET', STATUS)).toBe(after);
  });

  it('closes the stream while hidden and reopens + refetches when visible', async () => {
    const h = harness({ sandboxes: [makeSandbox({ status: 'RUNNING' })] });
    const { result } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    act(() => h.ES.last!.accept());
    await tick();
    act(() => h.doc.setVisibility('hidden'));
    await tick();
    expect(result.current.mode).toBe('hidden');
    expect(h.ES.open).toHaveLength(0);

    const base = h.server.count('GET', STATUS);
    act(() => h.doc.setVisibility('visible'));
    await tick();
    expect(h.ES.open).toHaveLength(1);
    expect(h.server.count('GET', STATUS)).toBe(base + 1);
  });

  it('closes the stream on unmount', async () => {
    const h = harness({ sandboxes: [makeSandbox()] });
    const { unmount } = renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    expect(h.ES.open).toHaveLength(1);
    unmount();
    expect(h.ES.open).toHaveLength(0);
  });
});

function StatusView() {
  const { statusLabel } = useSandboxStatus('p1');
  const wake = useWakeSandbox('p1');
  return (
    <div>
      <span data-testid="label">{statusLabel}</span>
      <button onClick={() => wake.mutate()}>wake</button>
    </div>
  );
}

describe('status label', () => {
  it('never shows "checking" during background refetches', async () => {
    const h = harness({
      eventSource: false,
      heartbeatMs: null,
      sandboxes: [makeSandbox({ status: 'RUNNING' })],
    });
    const labels: string[] = [];
    let started = 0;
    const real = h.server.fetch.getMockImplementation()!;
    h.server.fetch.mockImplementation(async (input, init) => {
      if ((init?.method ?? 'GET') === 'GET') started++;
      await new Promise((r) => setTimeout(r, 2_000)); // a slow status call
      return real(input, init);
    });
    const observer = new MutationObserver(() => {
      const el = screen.queryByTestId('label');
      if (el) labels.push(el.textContent ?? '');
    });
    h.render(<StatusView />);
    observer.observe(document.body, { subtree: true, characterData: true, childList: true });
    expect(screen.getByTestId('label').textContent).toBe('Loading…');
    await tick(2_000);
    expect(screen.getByTestId('label').textContent).toBe('Running');

    for (let i = 0; i < 4; i++) {
      const before = started;
      while (started === before) await tick(1_000); // until the next background poll starts
      expect(h.queryClient.isFetching()).toBe(1); // in flight…
      expect(screen.getByTestId('label').textContent).toBe('Running'); // …and no "checking"
      await tick(2_000);
      expect(h.queryClient.isFetching()).toBe(0);
      expect(screen.getByTestId('label').textContent).toBe('Running');
    }
    observer.disconnect();
    expect(labels.length).toBeGreaterThan(0);
    expect(labels.every((l) => !/check/i.test(l))).toBe(true);
    expect(new Set(labels)).toEqual(new Set(['Running']));
  });

  it('shows "Waking…" only while the wake is in flight, then refetches immediately', async () => {
    const h = harness({ eventSource: false, sandboxes: [makeSandbox({ status: 'PAUSED', version: 3 })] });
    h.render(<StatusView />);
    await tick();
    expect(screen.getByTestId('label').textContent).toBe('Paused');
    h.server.calls.length = 0;

    fireEvent.click(screen.getByText('wake'));
    await tick(0);
    expect(screen.getByTestId('label').textContent).toBe('Running');
    const order = h.server.calls.map((c) => `${c.method} ${c.path}`);
    expect(order.slice(0, 2)).toEqual(['POST /api/projects/p1/sandbox/wake', 'GET /api/projects/p1/sandbox']);
  });

  it('keeps "Waking…" until the refetch after wake has answered', async () => {
    const h = harness({ eventSource: false, sandboxes: [makeSandbox({ status: 'PAUSED' })] });
    const real = h.server.fetch.getMockImplementation()!;
    const started: string[] = [];
    h.server.fetch.mockImplementation(async (input, init) => {
      started.push(`${init?.method ?? 'GET'} ${input}`);
      await new Promise((r) => setTimeout(r, 500));
      return real(input, init);
    });
    h.render(<StatusView />);
    await tick(500);
    expect(screen.getByTestId('label').textContent).toBe('Paused');
    fireEvent.click(screen.getByText('wake'));
    await tick(0);
    expect(screen.getByTestId('label').textContent).toBe('Waking…');
    await tick(500); // POST answered, the GET is in flight
    expect(screen.getByTestId('label').textContent).toBe('Waking…');
    expect(started.at(-1)).toBe(`GET ${STATUS}`);
    await tick(500);
    expect(screen.getByTestId('label').textContent).toBe('Running');
  });
});

describe('presence heartbeat through the hook', () => {
  it('sends activity in polling mode only while visible', async () => {
    const h = harness({ sandboxes: [makeSandbox({ status: 'RUNNING' })], heartbeatMs: 60_000 });
    renderHook(() => useSandboxStatus('p1'), { wrapper: h.wrapper });
    await tick();
    act(() => h.ES.last!.fail(true));
    await tick(60_000);
    expect(h.server.count('POST', '/api/projects/p1/sandbox/activity')).toBe(1);
    act(() => h.doc.setVisibility('hidden'));
    await tick(10 * 60_000);
    expect(h.server.count('POST', '/api/projects/p1/sandbox/activity')).toBe(1);
  });
});
