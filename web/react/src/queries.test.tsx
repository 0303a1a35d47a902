import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { OverviewWindow } from '@sandboxd/client';
import { useForgetProject } from './mutations.js';
import { useEnforcerRunPages, useOverview, usePolicyReport, useSandboxHistory, useSandboxList } from './queries.js';
import { useSandboxStatus } from './useSandboxStatus.js';
import { cleanup, harness, makeOverview, makePolicyReport, makeRun, makeSandbox, tick } from './test-utils.js';

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

describe('useOverview', () => {
  it('keeps the last answer while another window loads, and refreshes every 30 s', async () => {
    const h = harness({ sandboxes: [makeSandbox()] });
    const { result, rerender } = renderHook(({ w }: { w: OverviewWindow }) => useOverview(w), {
      wrapper: h.wrapper,
      initialProps: { w: '1h' },
    });
    await tick();
    expect(result.current.data?.window).toBe('1h');
    expect(result.current.data?.current.RUNNING).toBe(1);

    // The server answers slowly: the 1h answer stays, marked as a placeholder.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fetch = h.server.fetch.getMockImplementation()!;
    h.server.fetch.mockImplementation(async (input, init) => {
      if (String(input).includes('window=24h')) await gate;
      return fetch(input, init);
    });
    rerender({ w: '24h' });
    await tick();
    expect(result.current.data?.window).toBe('1h');
    expect(result.current.isPlaceholderData).toBe(true);
    release();
    await tick();
    expect(result.current.data?.window).toBe('24h');
    expect(result.current.isPlaceholderData).toBe(false);

    const base = h.server.count('GET', '/api/overview');
    await tick(30_000);
    expect(h.server.count('GET', '/api/overview')).toBe(base + 1);
    expect(result.current.data?.window).toBe('24h');
  });

  it('shows the server answer as it is', async () => {
    const h = harness({
      overview: (window) => makeOverview({ window, truncated: true, savings: { savedHours: 1.5 } }),
    });
    const { result } = renderHook(() => useOverview(), { wrapper: h.wrapper });
    await tick();
    expect(result.current.data).toMatchObject({ truncated: true, savings: { savedHours: 1.5 } });
  });
});

describe('usePolicyReport', () => {
  it('keeps the last answer while another span loads, and refreshes every minute', async () => {
    const h = harness({ policyReport: (since) => makePolicyReport({ from: since ?? 'none' }) });
    const { result, rerender } = renderHook(({ since }: { since?: string }) => usePolicyReport(since), {
      wrapper: h.wrapper,
      initialProps: {},
    });
    await tick();
    expect(h.server.calls.at(-1)!.path).toBe('/api/policy/report?since=168h');
    expect(result.current.data?.from).toBe('168h');

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const fetch = h.server.fetch.getMockImplementation()!;
    h.server.fetch.mockImplementation(async (input, init) => {
      if (String(input).includes('since=24h')) await gate;
      return fetch(input, init);
    });
    rerender({ since: '24h' });
    await tick();
    expect(result.current.data?.from).toBe('168h');
    expect(result.current.isPlaceholderData).toBe(true);
    release();
    await tick();
    expect(result.current.data?.from).toBe('24h');
    expect(result.current.isPlaceholderData).toBe(false);

    const base = h.server.count('GET', '/api/policy/report');
    await tick(59_000);
    expect(h.server.count('GET', '/api/policy/report')).toBe(base);
    await tick(1_000);
    expect(h.server.count('GET', '/api/policy/report')).toBe(base + 1);
  });
});

describe('useEnforcerRunPages', () => {
  it('reads older runs a page at a time and reads every loaded page again on refresh', async () => {
    const runs = [5, 4, 3, 2, 1].map((id) => makeRun({ id }));
    const h = harness({ runs });
    const { result } = renderHook(() => useEnforcerRunPages(2), { wrapper: h.wrapper });
    await tick();
    const ids = () => result.current.data?.pages.flatMap((p) => p.runs.map((r) => r.id));
    expect(ids()).toEqual([5, 4]);
    expect(result.current.hasNextPage).toBe(true);
    await act(async () => {
      await result.current.fetchNextPage();
    });
    expect(ids()).toEqual([5, 4, 3, 2]);
    await act(async () => {
      await result.current.fetchNextPage();
    });
    expect(ids()).toEqual([5, 4, 3, 2, 1]);
    expect(result.current.hasNextPage).toBe(false);
    expect(h.server.calls.map((c) => c.path)).toEqual([
      '/api/jobs/idle-enforcer/runs?limit=2',
      '/api/jobs/idle-enforcer/runs?limit=2&before=4',
      '/api/jobs/idle-enforcer/runs?limit=2&before=2',
    ]);

    // A new run: the refresh starts from the newest and keeps as many pages.
    runs.unshift(makeRun({ id: 6 }));
    await tick(30_000);
    expect(ids()).toEqual([6, 5, 4, 3, 2, 1]);
  });
});

describe('useForgetProject', () => {
  it('forgets a killed project: its status is null at once, the list and report are read again', async () => {
    const h = harness({
      eventSource: false,
      sandboxes: [makeSandbox({ projectId: 'p1' }), makeSandbox({ projectId: 'p2', status: 'KILLED', url: null })],
    });
    const { result } = renderHook(
      () => ({
        list: useSandboxList(),
        status: useSandboxStatus('p2'),
        history: useSandboxHistory('p2'),
        report: usePolicyReport(),
        forget: useForgetProject('p2'),
      }),
      { wrapper: h.wrapper },
    );
    await tick();
    expect(result.current.status.status).toBe('KILLED');
    expect(result.current.list.data?.sandboxes.map((s) => s.projectId)).toEqual(['p1', 'p2']);
    const lists = h.server.count('GET', '/api/sandboxes');
    const reports = h.server.count('GET', '/api/policy/report');

    await act(async () => {
      await result.current.forget.mutateAsync({ removeHistory: true });
    });
    expect(h.server.calls.find((c) => c.method === 'DELETE')?.path).toBe('/api/projects/p2?history=remove');
    expect(result.current.status.notFound).toBe(true);
    expect(h.server.count('GET', '/api/sandboxes')).toBe(lists + 1);
    expect(h.server.count('GET', '/api/policy/report')).toBe(reports + 1);
    expect(result.current.list.data?.sandboxes.map((s) => s.projectId)).toEqual(['p1']);
  });

  it('leaves everything as it was when the server refuses', async () => {
    const h = harness({ eventSource: false, sandboxes: [makeSandbox({ projectId: 'p1' })] });
    const { result } = renderHook(
      () => ({ status: useSandboxStatus('p1'), forget: useForgetProject('p1') }),
      { wrapper: h.wrapper },
    );
    await tick();
    await act(async () => {
      await result.current.forget.mutateAsync({}).catch(() => undefined);
    });
    expect(result.current.forget.error).toMatchObject({ status: 409, code: 'failed_precondition' });
    expect(result.current.status.status).toBe('RUNNING');
  });
});
