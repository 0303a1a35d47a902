import type { Sandbox } from './types.js';

/**
 * What a live subscription needs of the API client: the stream's URL, the status read behind
 * refetches, and the presence heartbeat. SandboxClient implements it; subscribe.ts depends on
 * this interface only, so it does not import client.ts (which imports subscribe.ts).
 */
export interface SubscriptionClient {
  /** URL of the project's SSE stream (`GET …/sandbox/events`). */
  eventsUrl(projectId: string): string;
  /** The project's sandbox, or null when it has none; rejects on any other failure. */
  findStatus(projectId: string): Promise<Sandbox | null>;
  /** Keeps the sandbox alive for another idle timeout. */
  recordActivity(projectId: string): Promise<void>;
}
