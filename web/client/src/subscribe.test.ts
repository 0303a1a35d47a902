import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SandboxClient } from './client.js';
import { subscribe, type SubscribeOptions, type SubscriptionMode } from './subscribe.js';
import {
  fakeDocument,
  fakeEventSourceClass,
  fakeServer,
  makeSandbox,
  type FakeServer,
} from './test-utils.js';
import type { Sandbox } from './types.js';

const STATUS_PATH = '/api/projects/p1/sandbox';
const ACTIVITY_PATH = '/api/projects/p1/sandbox/activity';

let server: FakeServer;
let client: SandboxClient;

beforeEach(() => {
  vi.useFakeTimers();
  server = fakeServer({ sandboxes: [makeSandbox({ status: 'RUNNING', version: 1 })] });
  client = new SandboxClient({ fetch: server.fetch });
});

afterEach(() => {
  vi.useRealTimers();
});

function start(options: Partial<SubscribeOptions> = {}) {
  const received: Sandbox[] = [];
  const modes: SubscriptionMode[] = [];
  const sub = subscribe('p1', (s) => received.push(s), {
    client,
    document: null,
    random: () => 0,
    onModeChange: (m) => modes.push(m),
    ...options,
  });
  return { sub, received, modes };
}

const gets = () => server.count('GET', STATUS_PATH);
const heartbeats = () => server.count('POST', ACTIVITY_PATH);

describe('subscribe over SSE', () => {
  it('streams, does not poll while live, and dedupes by version', async () => {
    const ES = fakeEventSourceClass();
    const { sub, received, modes } = start({ EventSource: ES });
    expect(ES.instances).toHaveLength(1);
    expect(ES.last!.url).toBe('/api/projects/p1/sandbox/events');
    expect(sub.mode).toBe('connecting');

    ES.last!.accept();
    expect(sub.mode).toBe('sse');
    ES.last!.send(makeSandbox({ version: 3, status: 'RUNNING' }));
    ES.last!.send(makeSandbox({ version: 2, status: 'PAUSED' })); // older: dropped
    ES.last!.send(makeSandbox({ version: 3, status: 'RUNNING' })); // duplicate: dropped
    ES.last!.send(makeSandbox({ version: 4, status: 'PAUSING' }));
    expect(received.map((s) => s.version)).toEqual([3, 4]);
    expect(sub.sandbox!.version).toBe(4);

    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(gets()).toBe(0); // SSE live: no polling at all
    expect(heartbeats()).toBe(0); // the open stream is the presence signal
    expect(modes).toEqual(['sse']);

    sub();
    expect(ES.last!.closed).toBe(true);
    expect(sub.mode).toBe('closed');
  });

  it('never goes back to a version older than the initial snapshot', () => {
    const ES = fakeEventSourceClass();
    const { received } = start({ EventSource: ES, initial: makeSandbox({ version: 7 }) });
    ES.last!.accept();
    ES.last!.send(makeSandbox({ version: 6 }));
    ES.last!.send(makeSandbox({ version: 7 }));
    expect(received).toEqual([]);
    ES.last!.send(makeSandbox({ version: 8 }));
    expect(received.map((s) => s.version)).toEqual([8]);
  });

  it('reports unparsable events instead of throwing', () => {
    const ES = fakeEventSourceClass();
    const onError = vi.fn();
    start({ EventSource: ES, onError });
    ES.last!.accept();
    (ES.last as unknown as { dispatch(t: string, i: object): void }).dispatch('sandbox', { data: '{nope' });
    expect(onError).toHaveBeenCalledTimes(1);
  });
});

describe('fallback to polling', () => {
  it('polls with the seed schedule when EventSource is missing', async () => {
    const { sub, received } = start({ EventSource: null });
    expect(sub.mode).toBe('polling');
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1); // immediate fetch
    expect(received.map((s) => s.status)).toEqual(['RUNNING']);

    await vi.advanceTimersByTimeAsync(29_999);
    expect(gets()).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(gets()).toBe(2); // RUNNING → 30 s

    server.change('p1', { status: 'STARTING' });
    await vi.advanceTimersByTimeAsync(30_000);
    expect(gets()).toBe(3);
    expect(sub.sandbox!.status).toBe('STARTING');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(gets()).toBe(4); // STARTING → 5 s

    server.change('p1', { status: 'PAUSED' });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(gets()).toBe(5);
    expect(sub.sandbox!.status).toBe('PAUSED');
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(gets()).toBe(5); // PAUSED → no polling

    // A status learnt elsewhere (e.g. after a wake) restarts the schedule.
    sub.observe(makeSandbox({ status: 'PAUSING', version: 99 }));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(gets()).toBe(6);
    sub();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(gets()).toBe(6);
  });

  it('falls back on a refused stream (503) and switches back when SSE works again', async () => {
    const ES = fakeEventSourceClass();
    const { sub, modes } = start({ EventSource: ES, reconnectDelayMs: 1_000, maxReconnectDelayMs: 8_000 });
    ES.last!.fail(true); // 503: the browser closes the stream
    expect(sub.mode).toBe('polling');
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1);

    // Reconnect attempts back off: 1 s, 2 s, 4 s, 8 s, 8 s …
    await vi.advanceTimersByTimeAsync(1_000);
    expect(ES.instances).toHaveLength(2);
    ES.last!.fail(true);
    await vi.advanceTimersByTimeAsync(1_999);
    expect(ES.instances).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(ES.instances).toHaveLength(3);
    expect(sub.mode).toBe('polling'); // stays polling while retrying

    await vi.advanceTimersByTimeAsync(30_000);
    expect(gets()).toBe(2); // still polling at the RUNNING cadence

    ES.last!.accept();
    expect(sub.mode).toBe('sse');
    expect(modes).toEqual(['polling', 'sse']);
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(gets()).toBe(2); // polling stopped
    expect(ES.open).toHaveLength(1);
  });

  it('falls back after repeated errors of a stream the browser keeps retrying', async () => {
    const ES = fakeEventSourceClass();
    const { sub } = start({ EventSource: ES, maxSseFailures: 3 });
    ES.last!.accept();
    ES.last!.fail();
    expect(sub.mode).toBe('connecting');
    ES.last!.fail();
    expect(sub.mode).toBe('connecting');
    expect(gets()).toBe(0);
    ES.last!.fail();
    expect(sub.mode).toBe('polling');
    expect(ES.last!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1);
  });

  it('leaves polling to someone else with poll: false but still refetches on fallback', async () => {
    const ES = fakeEventSourceClass();
    const refetch = vi.fn(async () => undefined);
    const { sub } = start({ EventSource: ES, poll: false, refetch });
    ES.last!.fail(true);
    expect(sub.mode).toBe('polling');
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(refetch).toHaveBeenCalledTimes(1);
    expect(gets()).toBe(0);
  });
});

describe('presence', () => {
  it('closes the stream while hidden and reopens + refetches when visible', async () => {
    const ES = fakeEventSourceClass();
    const doc = fakeDocument('visible');
    const { sub } = start({ EventSource: ES, document: doc });
    ES.last!.accept();

    doc.setVisibility('hidden');
    expect(sub.mode).toBe('hidden');
    expect(ES.instances[0]!.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(ES.instances).toHaveLength(1); // no reconnects while hidden
    expect(gets()).toBe(0);
    expect(heartbeats()).toBe(0);

    doc.setVisibility('visible');
    expect(ES.instances).toHaveLength(2);
    expect(sub.mode).toBe('connecting');
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1); // refetch on return
    ES.last!.accept();
    expect(sub.mode).toBe('sse');

    sub();
    expect(doc.listenerCount()).toBe(0);
  });

  it('does not open anything when subscribing from a hidden page', async () => {
    const ES = fakeEventSourceClass();
    const doc = fakeDocument('hidden');
    const { sub } = start({ EventSource: ES, document: doc });
    expect(sub.mode).toBe('hidden');
    expect(ES.instances).toHaveLength(0);
    doc.setVisibility('visible');
    expect(ES.instances).toHaveLength(1);
  });

  it('stops polling while hidden in polling mode', async () => {
    const doc = fakeDocument('visible');
    start({ EventSource: null, document: doc });
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1);
    doc.setVisibility('hidden');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(gets()).toBe(1);
    doc.setVisibility('visible');
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(2);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(gets()).toBe(3);
  });

  it('sends the activity heartbeat only while visible, in polling mode, for a live sandbox', async () => {
    const doc = fakeDocument('visible');
    const { sub } = start({ EventSource: null, document: doc, heartbeatMs: 60_000 });
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(59_999);
    expect(heartbeats()).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(heartbeats()).toBe(1);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(heartbeats()).toBe(2);

    doc.setVisibility('hidden');
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(heartbeats()).toBe(2); // never while hidden

    doc.setVisibility('visible');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(heartbeats()).toBe(3);

    // A paused sandbox is not kept alive by the heartbeat.
    sub.observe(makeSandbox({ status: 'PAUSED', version: 50 }));
    await vi.advanceTimersByTimeAsync(5 * 60_000);
    expect(heartbeats()).toBe(3);
    sub();
  });

  it('stops the heartbeat when SSE comes back', async () => {
    const ES = fakeEventSourceClass();
    start({ EventSource: ES, heartbeatMs: 60_000, reconnectDelayMs: 1_000 });
    ES.last!.fail(true);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(heartbeats()).toBe(1);
    ES.last!.accept(); // the retry scheduled after 1 s
    await vi.advanceTimersByTimeAsync(10 * 60_000);
    expect(heartbeats()).toBe(1);
  });
});
