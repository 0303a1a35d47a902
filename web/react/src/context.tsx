import { createContext, useContext, type ReactNode } from 'react';
import { defaultClient, type SandboxClient, type SubscribeOptions } from '@sandboxd/client';

/** Subscription settings shared by every `useSandboxStatus` below a provider. */
export type LiveOptions = Omit<
  SubscribeOptions,
  'client' | 'poll' | 'refetch' | 'initial' | 'onModeChange'
>;

interface SandboxContextValue {
  client: SandboxClient;
  live: LiveOptions;
}

const SandboxContext = createContext<SandboxContextValue | null>(null);

export interface SandboxClientProviderProps {
  client: SandboxClient;
  /** Defaults for live subscriptions (EventSource, document, heartbeatMs, …). */
  live?: LiveOptions;
  children?: ReactNode;
}

/** Provides the SandboxClient (and live-subscription defaults) to the hooks. */
export function SandboxClientProvider({ client, live, children }: SandboxClientProviderProps) {
  return (
    <SandboxContext.Provider value={{ client, live: live ?? {} }}>{children}</SandboxContext.Provider>
  );
}

/** The client from the nearest SandboxClientProvider, else the shared same-origin client. */
export function useSandboxClient(): SandboxClient {
  return useContext(SandboxContext)?.client ?? defaultClient();
}

export function useLiveDefaults(): LiveOptions {
  return useContext(SandboxContext)?.live ?? EMPTY;
}

const EMPTY: LiveOptions = {};
