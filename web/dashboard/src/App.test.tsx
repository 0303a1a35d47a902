import { act, fireEvent, screen, within } from '@testing-library/react';
import { describe, expect, it, vi } from 'vitest';
import { freshPagePerTest, makeSandbox, setup, tick } from './test-utils';

freshPagePerTest();

describe('sandbox list (#/)', () => {
  it('shows a row per sandbox with status pill, live countdown, url and actions', async () => {
    setup({
      sandboxes: [
        makeSandbox({ projectId: 'p1', status: 'RUNNING', pauseAt: '2025-01-01T00:03:00.000Z' }),
        makeSandbox({ projectId: 'p2', status: 'PAUSED', url: null, pauseAt: null }),
      ],
    });
    await tick();
    const row1 = screen.getByTestId('sandbox-row-p1');
    const row2 = screen.getByTestId('sandbox-row-p2');
    expect(within(row1).getByTestId('status-pill').textContent).toBe('RUNNING');
    expect(within(row2).getByTestId('status-pill').textContent).toBe('PAUSED');
    expect(within(row1).getByTestId('status-pill').className).toContain('pill-running');
    expect(within(row1).getByTestId('countdown').textContent).toBe('3:00');
    await tick(1_000);
    expect(within(row1).getByTestId('countdown').textContent).toBe('2:59');
    await tick(60_000);
    expect(within(row1).getByTestId('countdown').textContent).toBe('1:59');
    expect(within(row2).getByTestId('countdown').textContent).toBe('—');
    expect(within(row1).getByRole('link', { name: 'http://127.0.0.1:42001/' })).toBeTruthy();
    expect((within(row1).getByTestId('wake-button') as HTMLButtonElement).disabled).toBe(true);
    expect((within(row2).getByTestId('wake-button') as HTMLButtonElement).disabled).toBe(false);
    expect((within(row2).getByTestId('pause-button') as HTMLButtonElement).disabled).toBe(true);
  });

  it('does not open event streams for the rows (a list keeps nothing alive)', async () => {
    const { ES } = setup({ sandboxes: [makeSandbox({ projectId: 'p1' })] });
    await tick(60_000);
    expect(ES.instances).toHaveLength(0);
  });

  it('pauses, wakes and kills from a row', async () => {
    const { server } = setup({ sandboxes: [makeSandbox({ projectId: 'p1', status: 'RUNNING' })] });
    await tick();
    const row = () => screen.getByTestId('sandbox-row-p1');
    fireEvent.click(within(row()).getByTestId('pause-button'));
    await tick();
    expect(server.count('POST', '/api/projects/p1/sandbox/pause')).toBe(1);
    expect(within(row()).getByTestId('status-pill').textContent).toBe('PAUSED');

    fireEvent.click(within(row()).getByTestId('wake-button'));
    await tick();
    expect(server.count('POST', '/api/projects/p1/sandbox/wake')).toBe(1);
    expect(within(row()).getByTestId('status-pill').textContent).toBe('RUNNING');

    // Kill asks first: declined, nothing happens; confirmed, it kills.
    const confirm = vi.spyOn(window, 'confirm').mockReturnValueOnce(false).mockReturnValueOnce(true);
    fireEvent.click(within(row()).getByTestId('kill-button'));
    await tick();
    expect(confirm).toHaveBeenCalledTimes(1);
    expect(server.count('DELETE', '/api/projects/p1/sandbox')).toBe(0);
    fireEvent.click(within(row()).getByTestId('kill-button'));
    await tick();
    expect(server.count('DELETE', '/api/projects/p1/sandbox')).toBe(1);
    expect(within(row()).getByTestId('status-pill').textContent).toBe('KILLED');
    confirm.mockRestore();
  });

  it('creates a sandbox and opens its page', async () => {
    const { server } = setup();
    await tick();
    expect(screen.getByTestId('empty-list')).toBeTruthy();
    fireEvent.change(screen.getByTestId('create-project-input'), { target: { value: 'fresh' } });
    fireEvent.click(screen.getByTestId('create-button'));
    await tick();
    expect(server.calls.find((c) => c.method === 'POST' && c.path === '/api/projects/fresh/sandbox')?.body).toEqual({
      template: 'hello',
    });
    expect(window.location.hash).toBe('#/projects/fresh');
  });
});

describe('project page (#/projects/<id>)', () => {
  it('shows the preview iframe while RUNNING, live over SSE', async () => {
    const { ES } = setup({ hash: '#/projects/p1', sandboxes: [makeSandbox({ status: 'RUNNING' })] });
    await tick();
    expect(screen.getByTestId('status-pill').textContent).toBe('RUNNING');
    expect(screen.getByTestId('status-label').textContent).toBe('Running');
    const iframe = screen.getByTestId('preview-iframe') as HTMLIFrameElement;
    expect(iframe.src).toBe('http://127.0.0.1:42001/');
    expect(screen.queryByTestId('wake-button')).toBeNull();

    expect(ES.instances).toHaveLength(1);
    expect(ES.last!.url).toBe('/api/projects/p1/sandbox/events');
    act(() => ES.last!.accept());
    await tick();
    expect(screen.getByTestId('live-mode').dataset['mode']).toBe('sse');

    // The server pauses it: the stream says so, the iframe gives way to the Paused panel.
    act(() => ES.last!.send(makeSandbox({ status: 'PAUSED', version: 2, pauseAt: null })));
    await tick();
    expect(screen.getByTestId('status-pill').textContent).toBe('PAUSED');
    expect(screen.queryByTestId('preview-iframe')).toBeNull();
    expect(screen.getByTestId('preview-panel').textContent).toContain('Paused');
  });

  it('drops a busy hold from the Why card at its expiry, with no new snapshot', async () => {
    const holds = [
      { name: 'build', expiresAt: '2025-01-01T00:00:20.000Z' },
      { name: 'deploy', expiresAt: '2025-01-01T01:00:00.000Z' },
    ];
    setup({ hash: '#/projects/p1', sandboxes: [makeSandbox({ status: 'RUNNING', holds })] });
    await tick();
    const names = () => screen.queryAllByTestId('hold-row').map((r) => r.dataset['name']);
    expect(names()).toEqual(['build', 'deploy']);
    await tick(15_000);
    expect(names()).toEqual(['build', 'deploy']);
    await tick(10_000);
    expect(names()).toEqual(['deploy']);
  });

  it('shows a Paused panel with a Wake button; wake refetches at once and brings the iframe back', async () => {
    const { server } = setup({ hash: '#/projects/p1', sandboxes: [makeSandbox({ status: 'PAUSED', pauseAt: null })] });
    await tick();
    expect(screen.queryByTestId('preview-iframe')).toBeNull();
    expect(screen.getByTestId('preview-panel').textContent).toContain('Paused');
    expect((screen.getByTestId('pause-button') as HTMLButtonElement).disabled).toBe(true);
    server.calls.length = 0;

    fireEvent.click(screen.getByTestId('wake-button'));
    await tick();
    const order = server.calls.map((c) => `${c.method} ${c.path}`);
    expect(order.indexOf('POST /api/projects/p1/sandbox/wake')).toBe(0);
    expect(order).toContain('GET /api/projects/p1/sandbox');
    expect(screen.getByTestId('status-pill').textContent).toBe('RUNNING');
    expect(screen.getByTestId('status-label').textContent).toBe('Running');
    expect(screen.getByTestId('preview-iframe')).toBeTruthy();
    // History shows the change.
    expect(screen.getAllByTestId('history-row').length).toBeGreaterThan(0);
  });

  it('loads the preview at once while the sandbox wakes, and says so', async () => {
    setup({
      hash: '#/projects/p1',
      sandboxes: [makeSandbox({ status: 'STARTING', pauseAt: null, url: 'http://42001-sbx-1.localhost:8081/' })],
    });
    await tick();
    const iframe = screen.getByTestId('preview-iframe') as HTMLIFrameElement;
    expect(iframe.src).toBe('http://42001-sbx-1.localhost:8081/');
    expect(screen.getByTestId('preview-waking').textContent).toContain('Waking');
    expect(screen.queryByTestId('preview-panel')).toBeNull();
  });

  it('sends the traffic token when previews need one', async () => {
    setup({
      hash: '#/projects/p1',
      sandboxes: [makeSandbox({ url: 'http://42001-sbx-1.localhost:8081/', trafficAccessToken: 'ab12' })],
    });
    await tick();
    const iframe = screen.getByTestId('preview-iframe') as HTMLIFrameElement;
    expect(iframe.src).toBe('http://42001-sbx-1.localhost:8081/?sandboxd_preview_token=ab12');
    expect(screen.getByTestId('preview-url').textContent).toBe('http://42001-sbx-1.localhost:8081/');
    expect(screen.queryByTestId('preview-waking')).toBeNull();
  });

  it('offers to create a sandbox when the project has none', async () => {
    const { server } = setup({ hash: '#/projects/newbie' });
    await tick();
    expect(screen.getByTestId('status-label').textContent).toBe('No sandbox');
    fireEvent.click(screen.getByTestId('create-button'));
    await tick();
    expect(server.count('POST', '/api/projects/newbie/sandbox')).toBe(1);
    expect(screen.getByTestId('status-pill').textContent).toBe('RUNNING');
    expect(screen.getByTestId('preview-iframe')).toBeTruthy();
    expect(screen.getAllByTestId('history-row')).toHaveLength(1);
  });

  it('shows the pause warning with Keep awake, which records activity', async () => {
    const pauseAt = '2025-01-01T00:00:30.000Z';
    const { ES, server } = setup({
      hash: '#/projects/p1',
      sandboxes: [makeSandbox({ status: 'RUNNING', pauseAt })],
    });
    await tick();
    act(() => ES.last!.accept());
    await tick();
    expect(screen.queryByTestId('pause-warning')).toBeNull();
    act(() =>
      ES.last!.sendEvent('pause_pending', JSON.stringify({ projectId: 'p1', pauseAt, secondsLeft: 30 })),
    );
    await tick();
    const banner = screen.getByTestId('pause-warning');
    expect(banner.textContent).toContain('Pausing in');
    expect(within(banner).getByTestId('countdown').dataset['remaining']).toBe('30');
    await tick(1_000);
    expect(within(banner).getByTestId('countdown').dataset['remaining']).toBe('29');
    fireEvent.click(screen.getByTestId('keep-awake-button'));
    await tick();
    expect(server.count('POST', '/api/projects/p1/sandbox/activity')).toBe(1);
    // The server publishes the moved pauseAt: the warning is over.
    act(() =>
      ES.last!.send(
        makeSandbox({ status: 'RUNNING', version: 9, pauseAt: '2025-01-01T00:03:01.000Z' }),
      ),
    );
    await tick();
    expect(screen.queryByTestId('pause-warning')).toBeNull();
  });

  it('pauses and kills', async () => {
    const { server } = setup({ hash: '#/projects/p1', sandboxes: [makeSandbox()] });
    await tick();
    fireEvent.click(screen.getByTestId('pause-button'));
    await tick();
    expect(server.count('POST', '/api/projects/p1/sandbox/pause')).toBe(1);
    expect(screen.getByTestId('status-pill').textContent).toBe('PAUSED');
    // Kill is never one click: it asks for the project id.
    fireEvent.click(screen.getByTestId('kill-button'));
    await tick();
    expect(server.count('DELETE', '/api/projects/p1/sandbox')).toBe(0);
    const confirmButton = screen.getByTestId('kill-confirm-button') as HTMLButtonElement;
    expect(confirmButton.disabled).toBe(true);
    fireEvent.change(screen.getByTestId('kill-confirm-input'), { target: { value: 'p' } });
    expect(confirmButton.disabled).toBe(true);
    fireEvent.change(screen.getByTestId('kill-confirm-input'), { target: { value: 'p1' } });
    expect(confirmButton.disabled).toBe(false);
    fireEvent.click(confirmButton);
    await tick();
    expect(server.count('DELETE', '/api/projects/p1/sandbox')).toBe(1);
    expect(screen.getByTestId('status-pill').textContent).toBe('KILLED');
    expect(screen.getByTestId('wake-button').textContent).toBe('Wake');
  });

  it('says the connection is lost while the stream cannot come back, and not before', async () => {
    const { ES } = setup({ hash: '#/projects/p1', sandboxes: [makeSandbox()] });
    await tick();
    act(() => ES.last!.accept());
    await tick();
    expect(screen.queryByTestId('connection-lost')).toBeNull();
    act(() => ES.last!.fail());
    await tick(1_000);
    expect(screen.queryByTestId('connection-lost')).toBeNull(); // a blip is not worth a banner
    await tick(4_000);
    expect(screen.getByTestId('connection-lost').textContent).toContain('Connection to sandboxd lost — retrying');
    act(() => ES.last!.accept());
    await tick();
    expect(screen.queryByTestId('connection-lost')).toBeNull();
  });

  it('keeps a running sandbox awake on request', async () => {
    const { server } = setup({ hash: '#/projects/p1', sandboxes: [makeSandbox()] });
    await tick();
    fireEvent.click(screen.getByTestId('keep-awake-action'));
    await tick();
    expect(server.count('POST', '/api/projects/p1/sandbox/activity')).toBe(1);
  });

  it('changes the idle timeout from a duration and refuses what is none', async () => {
    const { server } = setup({ hash: '#/projects/p1', sandboxes: [makeSandbox()] });
    await tick();
    fireEvent.change(screen.getByTestId('idle-timeout-input'), { target: { value: 'soon' } });
    fireEvent.click(screen.getByTestId('idle-timeout-save'));
    await tick();
    expect(screen.getByTestId('idle-timeout-error')).toBeTruthy();
    expect(server.count('PATCH', '/api/projects/p1/sandbox')).toBe(0);
    fireEvent.change(screen.getByTestId('idle-timeout-input'), { target: { value: '1h30m' } });
    fireEvent.click(screen.getByTestId('idle-timeout-save'));
    await tick();
    expect(server.calls.find((c) => c.method === 'PATCH')?.body).toEqual({ idleTimeoutSeconds: 5400 });
  });
});

describe('webhook delivery banner', () => {
  it('says so when the reconciler repaired drift no webhook reported', async () => {
    setup({
      readiness: {
        status: 'ready',
        checks: {
          store: { status: 'ok' },
          webhooks: {
            status: 'silent',
            lastVerifiedAt: '2024-12-31T23:00:00.000Z',
            lastDriftAt: '2024-12-31T23:59:00.000Z',
            driftSinceLastWebhook: 3,
          },
        },
      },
    });
    await tick();
    expect(screen.getByTestId('delivery-banner').textContent).toContain('repaired 3 changes');
  });

  it('stays away while deliveries are fine', async () => {
    const { server } = setup({ sandboxes: [makeSandbox()] });
    await tick();
    expect(server.count('GET', '/readyz')).toBe(1);
    expect(screen.queryByTestId('delivery-banner')).toBeNull();
  });
});

describe('jobs page (#/jobs)', () => {
  it('lists the enforcer runs', async () => {
    setup({ hash: '#/jobs', sandboxes: [makeSandbox()] });
    await tick();
    const rows = screen.getAllByTestId('run-row');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.textContent).toContain('120 ms');
    expect(within(rows[0]!).getByTestId('run-trigger').textContent).toBe('timer');
  });
});

describe('sign-in', () => {
  it('shows the sign-in form on 401 and continues once the token is accepted', async () => {
    const { server } = setup({ token: 'tok', sandboxes: [makeSandbox({ projectId: 'p1' })] });
    await tick();
    expect(screen.getByTestId('signin-form')).toBeTruthy();
    expect(screen.queryByTestId('sandbox-row-p1')).toBeNull();

    fireEvent.change(screen.getByTestId('signin-token'), { target: { value: 'nope' } });
    fireEvent.submit(screen.getByTestId('signin-form'));
    await tick();
    expect(screen.getByTestId('signin-error').textContent).toMatch(/not accepted/);

    fireEvent.change(screen.getByTestId('signin-token'), { target: { value: 'tok' } });
    fireEvent.submit(screen.getByTestId('signin-form'));
    await tick();
    expect(server.signedIn).toBe(true);
    expect(screen.queryByTestId('signin-form')).toBeNull();
    expect(screen.getByTestId('sandbox-row-p1')).toBeTruthy();

    fireEvent.click(screen.getByTestId('signout-button'));
    await tick();
    expect(server.signedIn).toBe(false);
    expect(screen.getByTestId('signin-form')).toBeTruthy();
  });

  it('signs in with ?token= from the link and strips it from the address bar', async () => {
    const { server } = setup({ token: 'tok', url: '/?token=tok#/jobs', sandboxes: [makeSandbox()] });
    expect(window.location.search).toBe('');
    expect(window.location.href).not.toContain('tok');
    expect(window.location.hash).toBe('#/jobs');
    await tick();
    expect(server.calls[0]).toMatchObject({ method: 'POST', path: '/api/session' });
    expect(server.calls[0]!.headers['Authorization']).toBe('Bearer tok');
    expect(screen.queryByTestId('signin-form')).toBeNull();
    expect(screen.getAllByTestId('run-row')).toHaveLength(1);
  });

  it('signs in with #token= from the printed link and clears it from the address bar', async () => {
    const { server } = setup({ token: 'tok', url: '/#token=tok', sandboxes: [makeSandbox()] });
    expect(window.location.href).not.toContain('tok');
    expect(window.location.hash).toBe('');
    await tick();
    expect(server.calls[0]).toMatchObject({ method: 'POST', path: '/api/session' });
    expect(server.calls[0]!.headers['Authorization']).toBe('Bearer tok');
    expect(screen.queryByTestId('signin-form')).toBeNull();
  });

  it('asks for the token when the one in the link is refused', async () => {
    setup({ token: 'tok', url: '/?token=bad#/', sandboxes: [makeSandbox()] });
    await tick();
    expect(window.location.href).not.toContain('bad');
    expect(screen.getByTestId('signin-form').textContent).toMatch(/not accepted/);
  });
});
