/** The dashboard's test harness: the whole App on an in-memory sandboxd, under fake timers. */
import { act, cleanup, render } from '@testing-library/react';
import { QueryClient } from '@tanstack/react-query';
import { afterEach, beforeEach, vi } from 'vitest';
import { SandboxClient } from '@sandboxd/client';
import {
  fakeDocument,
  fakeEventSourceClass,
  fakeServer,
  type FakeServerOptions,
} from '../../client/src/test-utils';
import { App } from './App';
import { createAuthStore, signInFromUrl } from './auth';

export * from '../../client/src/test-utils';

/** Advance fake time (0: just flush promises and renders) inside act. */
export async function tick(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

/** Render the App at `hash` (or `url`) against a fake server. */
export function setup(options: FakeServerOptions & { hash?: string; url?: string } = {}) {
  window.history.replaceState(null, '', options.url ?? `/${options.hash ?? '#/'}`);
  const server = fakeServer(options);
  const auth = createAuthStore();
  const client = new SandboxClient({
    fetch: server.fetch,
    onError: (e) => {
      if (e.status === 401) auth.require();
    },
  });
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false, gcTime: Infinity }, mutations: { retry: false } },
  });
  const ES = fakeEventSourceClass();
  const doc = fakeDocument();
  const startup = signInFromUrl(client, auth);
  const utils = render(
    <App
      client={client}
      queryClient={queryClient}
      auth={auth}
      startup={startup}
      live={{ EventSource: ES, document: doc, random: () => 0 }}
    />,
  );
  return { server, auth, client, queryClient, ES, doc, ...utils };
}

/**
 * Each test of the calling file starts at `now` on fake timers and ends with the page unmounted,
 * real timers back and the URL reset. Call once, at the top of a test file.
 */
export function freshPagePerTest(now = '2025-01-01T00:00:00.000Z'): void {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date(now) });
  });
  afterEach(() => {
    cleanup();
    vi.useRealTimers();
    window.history.replaceState(null, '', '/');
  });
}
