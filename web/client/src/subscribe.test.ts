import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SandboxClient } from './client.js';
import { subscribe } from './subscribe.js';
import type { EventSourceConstructor, SubscribeOptions, SubscriptionMode } from './subscription.js';
import {
  fakeDocument,
  fakeEventSourceClass,
  fakeServer,
  makeSandbox,
  type FakeEventSourceClass,
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

  it('passes pause_pending warnings on and reports malformed ones', () => {
    const ES = fakeEventSourceClass();
    const onError = vi.fn();
    const warnings: unknown[] = [];
    start({ EventSource: ES, onError, onPausePending: (w) => warnings.push(w) });
    ES.last!.accept();
    ES.last!.sendEvent(
      'pause_pending',
      JSON.stringify({ projectId: 'p1', pauseAt: '2026-01-01T00:03:00.000Z', secondsLeft: 30 }),
    );
    expect(warnings).toEqual([
      {
        projectId: 'p1',
        pauseAt: '2026-01-01T00:03:00.000Z',
        secondsLeft: 30,
        receivedAt: expect.any(Number),
      },
    ]);
    ES.last!.sendEvent('pause_pending', '{"projectId":"p1"}');
    expect(warnings).toHaveLength(1);
    expect(onError).toHaveBeenCalledTimes(1);
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

  it('a project forgotten and made again delivers the new record, whose versions start over', async () => {
    const ES = fakeEventSourceClass();
    const { sub, received } = start({ EventSource: ES, reconnectDelayMs: 1_000 });
    ES.last!.accept();
    ES.last!.send(makeSandbox({ version: 5, status: 'RUNNING', sandboxId: 'sbx-old' }));
    expect(sub.sandbox!.version).toBe(5);

    // The project is forgotten: the server ends the stream and the reconnect is refused (404).
    server.sandboxes.delete('p1');
    ES.last!.fail(true);
    expect(sub.mode).toBe('polling');
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1); // the refetch answered 404
    expect(sub.sandbox).toBeNull();

    // Made again: a new record, version 1. The retried stream delivers it.
    await vi.advanceTimersByTimeAsync(1_000);
    ES.last!.accept();
    ES.last!.send(makeSandbox({ version: 1, status: 'STARTING', sandboxId: 'sbx-new' }));
    expect(received.map((s) => [s.version, s.sandboxId])).toEqual([
      [5, 'sbx-old'],
      [1, 'sbx-new'],
    ]);
    expect(sub.sandbox!.sandboxId).toBe('sbx-new');
    sub();
  });

  it('event: end (not_found) drops the held snapshot before the browser reconnects', () => {
    const ES = fakeEventSourceClass();
    const onGone = vi.fn();
    const errors: unknown[] = [];
    const { sub, received } = start({ EventSource: ES, onGone, onError: (e) => errors.push(e) });
    ES.last!.accept();
    ES.last!.send(makeSandbox({ version: 5, sandboxId: 'sbx-old' }));
    ES.last!.sendEvent('end', JSON.stringify({ code: 'other', message: 'x' }));
    ES.last!.sendEvent('end', 'not json');
    expect(sub.sandbox!.version).toBe(5);
    expect(onGone).not.toHaveBeenCalled();
    expect(errors).toHaveLength(1);

    ES.last!.sendEvent('end', JSON.stringify({ code: 'not_found', message: 'forgotten' }));
    expect(onGone).toHaveBeenCalledTimes(1);
    expect(sub.sandbox).toBeNull();
    // Made again before the reconnect: the same EventSource reopens on the new record.
    ES.last!.fail();
    ES.last!.accept();
    ES.last!.send(makeSandbox({ version: 1, sandboxId: 'sbx-new' }));
    expect(received.map((s) => s.sandboxId)).toEqual(['sbx-old', 'sbx-new']);
    sub();
  });

  it('observe(null) drops the held snapshot; undefined leaves it', () => {
    const ES = fakeEventSourceClass();
    const { sub, received } = start({ EventSource: ES, initial: makeSandbox({ version: 9 }) });
    ES.last!.accept();
    sub.observe(undefined);
    ES.last!.send(makeSandbox({ version: 2 }));
    expect(received).toEqual([]);
    sub.observe(null);
    expect(sub.sandbox).toBeNull();
    ES.last!.send(makeSandbox({ version: 2 }));
    expect(received.map((s) => s.version)).toEqual([2]);
    sub();
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

describe('state machine transitions', () => {
  /** Expects the next stream to open exactly `ms` after now, not a millisecond earlier. */
  async function expectRetryAfter(ES: FakeEventSourceClass, ms: number) {
    const before = ES.instances.length;
    await vi.advanceTimersByTimeAsync(ms - 1);
    expect(ES.instances).toHaveLength(before);
    await vi.advanceTimersByTimeAsync(1);
    expect(ES.instances).toHaveLength(before + 1);
  }

  it('sse → connecting while the browser retries; an open counts errors afresh', async () => {
    const ES = fakeEventSourceClass();
    const { sub, modes } = start({ EventSource: ES }); // default maxSseFailures: 3
    ES.last!.accept();
    ES.last!.fail();
    ES.last!.fail();
    expect(sub.mode).toBe('connecting');
    ES.last!.accept(); // the browser's own retry got through
    ES.last!.fail();
    ES.last!.fail();
    expect(sub.mode).toBe('connecting'); // two errors since the open: not yet
    expect(ES.instances).toHaveLength(1);
    expect(gets()).toBe(0);
    ES.last!.fail();
    expect(sub.mode).toBe('polling'); // the third in a row
    expect(modes).toEqual(['sse', 'connecting', 'sse', 'connecting', 'polling']);
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1);
    // After three failures the first retry waits 1 s · 2² = 4 s.
    await expectRetryAfter(ES, 4_000);
  });

  it('sse → polling at once when a live stream is refused', async () => {
    const ES = fakeEventSourceClass();
    const { sub, modes } = start({ EventSource: ES, heartbeatMs: 60_000 });
    ES.last!.accept();
    ES.last!.fail(true);
    expect(sub.mode).toBe('polling');
    expect(modes).toEqual(['sse', 'polling']);
    expect(ES.open).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1); // the stream may have missed changes
    await expectRetryAfter(ES, 1_000);
    await vi.advanceTimersByTimeAsync(59_000);
    expect(heartbeats()).toBe(1); // polling mode sends the presence heartbeat
  });

  it('polling → sse: retries back off exponentially, capped, with jitter, until one opens', async () => {
    const ES = fakeEventSourceClass();
    const { sub, modes } = start({
      EventSource: ES,
      reconnectDelayMs: 1_000,
      maxReconnectDelayMs: 5_000,
      random: () => 0.5, // +10 %
      heartbeatMs: 60_000,
    });
    ES.last!.fail(true);
    for (const delay of [1_100, 2_200, 4_400, 5_500, 5_500]) {
      await expectRetryAfter(ES, delay);
      expect(sub.mode).toBe('polling'); // a retry in flight does not leave polling
      ES.last!.fail(true);
    }
    await expectRetryAfter(ES, 5_500);
    await vi.advanceTimersByTimeAsync(30_000); // this attempt hangs: polling goes on meanwhile
    ES.last!.accept();
    expect(sub.mode).toBe('sse');
    expect(modes).toEqual(['polling', 'sse']);

    const polled = gets();
    const beaten = heartbeats();
    expect(polled).toBeGreaterThan(1);
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(gets()).toBe(polled); // no polling while live
    expect(heartbeats()).toBe(beaten); // and no heartbeat
    expect(ES.instances).toHaveLength(7); // and no more retries

    // The open reset the backoff: a later refusal retries after the base delay again.
    ES.last!.fail(true);
    await expectRetryAfter(ES, 1_100);
  });

  it('falls back to polling when the EventSource cannot even be constructed, and retries', async () => {
    const Fake = fakeEventSourceClass();
    let refusals = 1;
    function Flaky(url: string, init?: { withCredentials?: boolean }) {
      if (refusals-- > 0) throw new Error('blocked by policy');
      return new Fake(url, init);
    }
    const onError = vi.fn();
    const { sub, modes } = start({
      EventSource: Flaky as unknown as EventSourceConstructor,
      onError,
    });
    expect(sub.mode).toBe('polling');
    expect(onError).toHaveBeenCalledWith(new Error('blocked by policy'));
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1);
    await expectRetryAfter(Fake, 1_000);
    Fake.last!.accept();
    expect(modes).toEqual(['polling', 'sse']);
  });

  it('hidden opens nothing, not even a pending retry; visible reopens with the backoff reset', async () => {
    const ES = fakeEventSourceClass();
    const doc = fakeDocument('visible');
    const { sub, modes } = start({ EventSource: ES, document: doc, heartbeatMs: 60_000 });
    ES.last!.fail(true);
    await expectRetryAfter(ES, 1_000);
    ES.last!.fail(true); // the next retry would wait 2 s
    await vi.advanceTimersByTimeAsync(500);
    const polled = gets();

    doc.setVisibility('hidden');
    expect(sub.mode).toBe('hidden');
    expect(ES.open).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(ES.instances).toHaveLength(2); // the retry that was pending never opened
    expect(gets()).toBe(polled);
    expect(heartbeats()).toBe(0);

    doc.setVisibility('visible');
    expect(ES.instances).toHaveLength(3); // reopened at once
    expect(sub.mode).toBe('connecting');
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(polled + 1); // and refetched what was missed
    ES.last!.fail(true);
    await expectRetryAfter(ES, 1_000); // not 4 s: failures start again from zero
    ES.last!.accept();
    expect(modes).toEqual(['polling', 'hidden', 'connecting', 'polling', 'sse']);
  });

  it('does not poll or send heartbeats while PAUSED or KILLED, even with SSE down', async () => {
    server.change('p1', { status: 'PAUSED' });
    const ES = fakeEventSourceClass();
    const { sub } = start({ EventSource: ES, heartbeatMs: 60_000 });
    ES.last!.fail(true);
    await vi.advanceTimersByTimeAsync(0);
    expect(gets()).toBe(1); // the fallback's immediate fetch
    expect(sub.sandbox!.status).toBe('PAUSED');
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(sub.mode).toBe('polling');
    expect(gets()).toBe(1);
    expect(heartbeats()).toBe(0);

    // A poll done elsewhere learns it is STARTING: the 5 s cadence resumes, then stops at KILLED.
    sub.observe(server.change('p1', { status: 'STARTING' }));
    server.change('p1', { status: 'KILLED' });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(gets()).toBe(2);
    expect(sub.sandbox!.status).toBe('KILLED');
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(gets()).toBe(2);
  });

  it('close stops everything from polling and drops a refetch still in flight', async () => {
    const ES = fakeEventSourceClass();
    let answer: (sandbox: Sandbox) => void = () => {};
    const refetch = () => new Promise<Sandbox>((resolve) => (answer = resolve));
    const { sub, received, modes } = start({ EventSource: ES, refetch, heartbeatMs: 60_000 });
    ES.last!.fail(true); // polling: a refetch in flight, a retry pending, a heartbeat armed
    sub();
    expect(sub.mode).toBe('closed');
    expect(modes).toEqual(['polling', 'closed']);
    answer(makeSandbox({ version: 5 }));
    await vi.advanceTimersByTimeAsync(30 * 60_000);
    expect(received).toEqual([]);
    expect(ES.instances).toHaveLength(1);
    expect(heartbeats()).toBe(0);
    sub.reconnect();
    expect(ES.instances).toHaveLength(1);
  });
});
