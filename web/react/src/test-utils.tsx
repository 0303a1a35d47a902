import { act, cleanup, render, type RenderResult } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { vi } from 'vitest';
import { SandboxClient } from '@sandboxd/client';
import {
  fakeDocument,
  fakeEventSourceClass,
  fakeServer,
  type FakeDocument,
  type FakeEventSourceClass,
  type FakeServerOptions,
} from '../../client/src/test-utils';
import { SandboxClientProvider } from './context.js';

export * from '../../client/src/test-utils';

/** Advance fake time (0: just flush promises and TanStack's batched notifications) inside act. */
export async function tick(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

export interface Harness {
  server: ReturnType<typeof fakeServer>;
  client: SandboxClient;
  queryClient: QueryClient;
  ES: FakeEventSourceClass;
  doc: FakeDocument;
  wrapper: (props: { children?: ReactNode }) => ReactNode;
  render(ui: ReactNode): RenderResult;
}

export function harness(
  options: FakeServerOptions & { eventSource?: boolean; heartbeatMs?: number | null } = {},
): Harness {
  const server = fakeServer(options);
  const client = new SandboxClient({ fetch: server.fetch });
  const queryClient = new QueryClient({
    defaultOptions: { queries: { retry: false, gcTime: Infinity }, mutations: { retry: false } },
  });
  const ES = fakeEventSourceClass();
  const doc = fakeDocument('visible');
  const live = {
    EventSource: options.eventSource === false ? null : ES,
    document: doc,
    random: () => 0,
    heartbeatMs: options.heartbeatMs === undefined ? 60_000 : options.heartbeatMs,
  };
  const wrapper = ({ children }: { children?: ReactNode }) => (
    <QueryClientProvider client={queryClient}>
      <SandboxClientProvider client={client} live={live}>
        {children}
      </SandboxClientProvider>
    </QueryClientProvider>
  );
  return {
    server,
    client,
    queryClient,
    ES,
    doc,
    wrapper,
    render: (ui) => render(ui, { wrapper }),
  };
}

export { cleanup };
