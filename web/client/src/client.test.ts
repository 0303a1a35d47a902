import { describe, expect, it, vi } from 'vitest';
import { ApiError, isUnauthorized } from './errors.js';
import { SandboxClient, createClient } from './client.js';
import { fakeServer, makeOverview, makePolicyReport, makeRun, makeSandbox } from './test-utils.js';

describe('SandboxClient', () => {
  it('reads status from the same origin with same-origin credentials', async () => {
    const server = fakeServer({ sandboxes: [makeSandbox({ projectId: 'p1' })] });
    const client = new SandboxClient({ fetch: server.fetch });
    const s = await client.getStatus('p1');
    expect(s.status).toBe('RUNNING');
    expect(server.fetch).toHaveBeenCalledWith('/api/projects/p1/sandbox', expect.anything());
    expect(server.calls[0]!.credentials).toBe('same-origin');
    expect(server.calls[0]!.headers['Authorization']).toBeUndefined();
  });

  it('encodes project ids and honours a base URL and token', async () => {
    const server = fakeServer({ sandboxes: [makeSandbox({ projectId: 'a b/c' })] });
    const client = createClient({ baseUrl: 'http://127.0.0.1:8080/', token: 't0k', fetch: server.fetch });
    await client.getStatus('a b/c');
    expect(server.fetch.mock.calls[0]![0]).toBe('http://127.0.0.1:8080/api/projects/a%20b%2Fc/sandbox');
    expect(server.calls[0]!.headers['Authorization']).toBe('Bearer t0k');
    expect(client.eventsUrl('p1')).toBe('http://127.0.0.1:8080/api/projects/p1/sandbox/events');
  });

  it('turns error bodies into typed ApiErrors', async () => {
    const server = fakeServer();
    const client = new SandboxClient({ fetch: server.fetch });
    const err = await client.getStatus('nope').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: 'not_found' });
    expect((err as ApiError).message).toContain('nope');
    await expect(client.findStatus('nope')).resolves.toBeNull();
  });

  it('reports 401 to onError and as isUnauthorized', async () => {
    const server = fakeServer({ token: 'secret', sandboxes: [makeSandbox()] });
    const onError = vi.fn();
    const client = new SandboxClient({ fetch: server.fetch, onError });
    const err = await client.getStatus('p1').catch((e: unknown) => e);
    expect(isUnauthorized(err)).toBe(true);
    expect(onError).toHaveBeenCalledWith(err);
  });

  it('maps network failures and non-JSON errors', async () => {
    const down = new SandboxClient({ fetch: () => Promise.reject(new TypeError('Failed to fetch')) });
    await expect(down.getStatus('p1')).rejects.toMatchObject({ status: 0, code: 'network_error' });
    const html = new SandboxClient({
      fetch: async () => new Response('<h1>bad gateway</h1>', { status: 502, statusText: 'Bad Gateway' }),
    });
    await expect(html.getStatus('p1')).rejects.toMatchObject({ status: 502, code: 'http_502' });
  });

  it('wake posts and then refetches immediately, returning the newest snapshot', async () => {
    const server = fakeServer({ sandboxes: [makeSandbox({ status: 'PAUSED', version: 4 })] });
    const client = new SandboxClient({ fetch: server.fetch });
    const s = await client.wake('p1');
    expect(server.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      'POST /api/projects/p1/sandbox/wake',
      'GET /api/projects/p1/sandbox',
    ]);
    expect(s).toMatchObject({ status: 'RUNNING', version: 5 });

    server.calls.length = 0;
    await client.wake('p1', { refetch: false });
    expect(server.calls).toHaveLength(1);
  });

  it('covers the rest of the contract', async () => {
    const server = fakeServer({ token: 'tok' });
    const client = new SandboxClient({ fetch: server.fetch });
    await client.signIn('tok');
    expect(server.calls[0]).toMatchObject({ method: 'POST', path: '/api/session' });
    expect(server.calls[0]!.headers['Authorization']).toBe('Bearer tok');
    expect(server.signedIn).toBe(true);

    const created = await client.create('p9', { template: 'hello', idleTimeoutSeconds: 60 });
    expect(created).toMatchObject({ projectId: 'p9', template: 'hello', idleTimeoutSeconds: 60 });
    expect(server.calls.at(-1)!.body).toEqual({ template: 'hello', idleTimeoutSeconds: 60 });

    await expect(client.recordActivity('p9')).resolves.toBeUndefined();
    const held = await client.placeHold('p9', 'build', 600);
    expect(server.calls.at(-1)).toMatchObject({
      method: 'POST',
      path: '/api/projects/p9/sandbox/holds',
      body: { name: 'build', ttlSeconds: 600 },
    });
    expect(held).toMatchObject({ name: 'build', sandbox: { holds: [{ name: 'build' }] } });
    expect(await client.listHolds('p9')).toEqual([{ name: 'build', expiresAt: held.expiresAt }]);
    await client.releaseHold('p9', 'build');
    expect(server.calls.at(-1)).toMatchObject({
      method: 'DELETE',
      path: '/api/projects/p9/sandbox/holds/build',
    });
    expect(await client.listHolds('p9')).toEqual([]);
    await expect(client.releaseHold('p9', 'build')).rejects.toMatchObject({ status: 404 });
    expect((await client.pause('p9')).status).toBe('PAUSED');
    await client.kill('p9');
    expect(server.calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/api/projects/p9/sandbox' });

    const page = await client.list({ status: 'KILLED', limit: 10, cursor: 'c1' });
    expect(server.calls.at(-1)!.path).toBe('/api/sandboxes?status=KILLED&limit=10&cursor=c1');
    expect(page.sandboxes.map((s) => s.projectId)).toEqual(['p9']);
    expect(page.nextCursor).toBeNull();

    const events = await client.history('p9');
    expect(events[0]).toMatchObject({ status: 'KILLED', outcome: 'applied' });

    const runs = await client.enforcerRuns(5);
    expect(server.calls.at(-1)!.path).toBe('/api/jobs/idle-enforcer/runs?limit=5');
    expect(runs[0]).toMatchObject({ checked: 1, paused: 1, failed: 0 });

    await client.signOut();
    expect(server.calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/api/session' });
    expect(server.signedIn).toBe(false);
    await expect(client.list()).rejects.toMatchObject({ status: 401 });
  });

  it('reads the overview of a window and refuses none other', async () => {
    const server = fakeServer({
      sandboxes: [makeSandbox({ projectId: 'a' }), makeSandbox({ projectId: 'b', status: 'PAUSED' })],
    });
    const client = new SandboxClient({ fetch: server.fetch });
    const hour = await client.overview();
    expect(server.calls.at(-1)!.path).toBe('/api/overview?window=1h');
    expect(hour).toMatchObject({ window: '1h', bucketSeconds: 60, current: { RUNNING: 1, PAUSED: 1, KILLED: 0 } });
    expect(hour.buckets).toHaveLength(60);
    const day = await client.overview('24h');
    expect(server.calls.at(-1)!.path).toBe('/api/overview?window=24h');
    expect(day.buckets).toHaveLength(96);
    expect(day.buckets.at(-1)!.end).toBe(day.to);
    await expect(client.overview('7d' as '1h')).rejects.toMatchObject({ status: 400, code: 'invalid_argument' });
    expect(makeOverview().coveredFrom).toBe(makeOverview().from);
  });

  it('forgets a killed project, keeping or removing its history', async () => {
    const server = fakeServer({
      sandboxes: [makeSandbox({ projectId: 'live' }), makeSandbox({ projectId: 'gone', status: 'KILLED' })],
    });
    const client = new SandboxClient({ fetch: server.fetch });
    await expect(client.forgetProject('live')).rejects.toMatchObject({ status: 409, code: 'failed_precondition' });
    await client.kill('live');
    expect(await client.forgetProject('live', { removeHistory: true })).toEqual({ projectId: 'live', historyRemoved: 1 });
    expect(server.calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/api/projects/live?history=remove' });
    expect(await client.forgetProject('gone')).toEqual({ projectId: 'gone', historyRemoved: 0 });
    expect(server.calls.at(-1)!.path).toBe('/api/projects/gone?history=keep');
    await expect(client.findStatus('live')).resolves.toBeNull();
    expect((await client.list()).sandboxes).toEqual([]);
    await expect(client.forgetProject('gone')).rejects.toMatchObject({ status: 404 });
  });

  it('pages through the enforcer runs with before', async () => {
    const runs = [5, 4, 3, 2, 1].map((id) => makeRun({ id, pausedProjects: [`p${id}`] }));
    const server = fakeServer({ runs });
    const client = new SandboxClient({ fetch: server.fetch });
    const first = await client.enforcerRunsPage({ limit: 2 });
    expect(server.calls.at(-1)!.path).toBe('/api/jobs/idle-enforcer/runs?limit=2');
    expect(first.runs.map((r) => r.id)).toEqual([5, 4]);
    expect(first.runs[0]!.pausedProjects).toEqual(['p5']);
    expect(first.nextBefore).toBe(4);
    const second = await client.enforcerRunsPage({ limit: 2, before: first.nextBefore! });
    expect(server.calls.at(-1)!.path).toBe('/api/jobs/idle-enforcer/runs?limit=2&before=4');
    expect(second.runs.map((r) => r.id)).toEqual([3, 2]);
    const last = await client.enforcerRunsPage({ limit: 2, before: 2 });
    expect(last).toEqual({ runs: [runs[4]], nextBefore: null });
    // The plain list is the first page's runs.
    expect((await client.enforcerRuns()).map((r) => r.id)).toEqual([5, 4, 3, 2, 1]);
  });

  it('reads the policy report since a span, or the server default', async () => {
    const server = fakeServer({ policyReport: (since) => makePolicyReport({ from: since ?? 'default' }) });
    const client = new SandboxClient({ fetch: server.fetch });
    expect((await client.policyReport()).from).toBe('default');
    expect(server.calls.at(-1)!.path).toBe('/api/policy/report');
    const day = await client.policyReport({ since: '24h', regretWindow: '5m' });
    expect(server.calls.at(-1)!.path).toBe('/api/policy/report?since=24h&regretWindow=5m');
    expect(day).toMatchObject({ from: '24h', replay: null, policy: { default: 'fixed', shadow: null } });
  });

  it('changes the idle policy and the idle timeout, alone or together', async () => {
    const server = fakeServer({ sandboxes: [makeSandbox()], idlePolicy: 'adaptive' });
    const client = new SandboxClient({ fetch: server.fetch });
    const warm = await client.updateSettings('p1', { idlePolicy: 'warmup', idleTimeoutSeconds: 60 });
    expect(server.calls.at(-1)).toMatchObject({ method: 'PATCH', path: '/api/projects/p1/sandbox' });
    expect(server.calls.at(-1)!.body).toEqual({ idlePolicy: 'warmup', idleTimeoutSeconds: 60 });
    expect(warm).toMatchObject({ idlePolicy: 'warmup', effectiveIdlePolicy: 'warmup', idleTimeoutSeconds: 60 });
    const back = await client.updateSettings('p1', { idlePolicy: null });
    expect(server.calls.at(-1)!.body).toEqual({ idlePolicy: null });
    expect(back).toMatchObject({ idlePolicy: null, effectiveIdlePolicy: 'adaptive', idleTimeoutSeconds: 60 });
    await client.setIdleTimeout('p1', 90);
    expect(server.calls.at(-1)!.body).toEqual({ idleTimeoutSeconds: 90 });
    await expect(client.updateSettings('p1', { idlePolicy: 'lazy' as 'fixed' })).rejects.toMatchObject({
      status: 400,
      code: 'invalid_argument',
    });
  });

  it('says since when a sandbox runs, and null once it is not', async () => {
    const server = fakeServer();
    const client = new SandboxClient({ fetch: server.fetch });
    const created = await client.create('p1');
    expect(created.runningSince).toBe(created.updatedAt);
    expect((await client.pause('p1')).runningSince).toBeNull();
  });
});
