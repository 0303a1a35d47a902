/**
 * Free functions over a lazily created same-origin client, for code that does not want to hold
 * a SandboxClient: `getStatus('p1')`, `wake('p1')`, …
 */
import { SandboxClient, type WakeOptions } from './client.js';
import type {
  CreateSandboxRequest,
  ForgetOptions,
  OverviewWindow,
  PolicyReportQuery,
  SandboxListQuery,
} from './types.js';

let instance: SandboxClient | null = null;

/** The shared client (same origin, cookie auth), created on first use. */
export function defaultClient(): SandboxClient {
  instance ??= new SandboxClient();
  return instance;
}

/** Replace the shared client (e.g. with a base URL or token); null resets it. */
export function setDefaultClient(client: SandboxClient | null): void {
  instance = client;
}

export const getStatus = (projectId: string) => defaultClient().getStatus(projectId);
export const findStatus = (projectId: string) => defaultClient().findStatus(projectId);
export const createSandbox = (projectId: string, request?: CreateSandboxRequest) =>
  defaultClient().create(projectId, request);
export const wake = (projectId: string, options?: WakeOptions) =>
  defaultClient().wake(projectId, options);
export const pause = (projectId: string) => defaultClient().pause(projectId);
export const kill = (projectId: string) => defaultClient().kill(projectId);
export const recordActivity = (projectId: string) => defaultClient().recordActivity(projectId);
export const list = (query?: SandboxListQuery) => defaultClient().list(query);
export const history = (projectId: string) => defaultClient().history(projectId);
export const enforcerRuns = (limit?: number) => defaultClient().enforcerRuns(limit);
export const overview = (window?: OverviewWindow) => defaultClient().overview(window);
export const policyReport = (query?: PolicyReportQuery) => defaultClient().policyReport(query);
export const forgetProject = (projectId: string, options?: ForgetOptions) =>
  defaultClient().forgetProject(projectId, options);
export const signIn = (token: string) => defaultClient().signIn(token);
export const signOut = () => defaultClient().signOut();
