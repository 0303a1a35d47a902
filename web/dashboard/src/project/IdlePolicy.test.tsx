import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { freshPagePerTest, makeSandbox, setup, tick } from '../test-utils';

freshPagePerTest();

/** A sandbox on the deployment default, adaptive. */
const onDefault = () => makeSandbox({ idlePolicy: null, effectiveIdlePolicy: 'adaptive' });
const select = () => screen.getByTestId('idle-policy-select') as HTMLSelectElement;
const selectedLabel = () => select().selectedOptions[0]!.textContent;
const patches = (server: ReturnType<typeof setup>['server']) =>
  server.calls.filter((c) => c.method === 'PATCH').map((c) => c.body);

describe('idle policy on the project page', () => {
  it('shows the policy that applies, and "(default)" while it is the deployment’s', async () => {
    setup({ hash: '#/projects/p1', sandboxes: [onDefault()], idlePolicy: 'adaptive' });
    await tick();
    expect(screen.getByTestId('idle-policy').textContent).toBe('adaptive (default)');
    expect(select().value).toBe('default');
    expect(selectedLabel()).toBe('Deployment default (adaptive)');
    expect([...select().options].map((o) => o.value)).toEqual(['default', 'fixed', 'adaptive', 'warmup']);
    expect(screen.getByLabelText(/Idle policy/)).toBe(select());
    expect(screen.getByTestId('idle-policy-hint').textContent).toContain('adaptive: a longer idle timeout');
  });

  it('PATCHes the policy chosen, and null to go back to the default', async () => {
    const { server } = setup({ hash: '#/projects/p1', sandboxes: [onDefault()], idlePolicy: 'adaptive' });
    await tick();
    fireEvent.change(select(), { target: { value: 'adaptive' } });
    await tick();
    expect(patches(server)).toEqual([{ idlePolicy: 'adaptive' }]);
    expect(server.calls.find((c) => c.method === 'PATCH')!.path).toBe('/api/projects/p1/sandbox');
    expect(select().value).toBe('adaptive');
    expect(screen.getByTestId('idle-policy').textContent).toBe('adaptive');
    // The sandbox no longer runs with the default: the option does not guess its name.
    expect(select().options[0]!.textContent).toBe('Deployment default');

    fireEvent.change(select(), { target: { value: 'warmup' } });
    await tick();
    expect(screen.getByTestId('idle-policy').textContent).toBe('warmup');

    fireEvent.change(select(), { target: { value: 'default' } });
    await tick();
    expect(patches(server)).toEqual([{ idlePolicy: 'adaptive' }, { idlePolicy: 'warmup' }, { idlePolicy: null }]);
    expect(select().value).toBe('default');
    expect(selectedLabel()).toBe('Deployment default (adaptive)');
    expect(screen.getByTestId('idle-policy').textContent).toBe('adaptive (default)');
  });

  it('waits while the choice saves, and says why when the server refuses it', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const { server } = setup({ hash: '#/projects/p1', sandboxes: [onDefault()] });
    await tick();
    const fetch = server.fetch.getMockImplementation()!;
    server.fetch.mockImplementation(async (input, init) => {
      if (init?.method !== 'PATCH') return fetch(input, init);
      await gate;
      const refused = { error: { code: 'invalid_argument', message: 'unknown idle policy "warmup"' } };
      return new Response(JSON.stringify(refused), { status: 400 });
    });
    fireEvent.change(select(), { target: { value: 'warmup' } });
    await tick();
    expect(select().value).toBe('warmup');
    expect(select().disabled).toBe(true);
    expect(screen.getByText('Saving…')).toBeTruthy();

    release();
    await tick();
    expect(select().disabled).toBe(false);
    expect(select().value).toBe('default');
    expect(screen.queryByText('Saving…')).toBeNull();
    const alert = screen.getByText(/^Could not change the idle policy/);
    expect(alert.getAttribute('role')).toBe('alert');
    expect(alert.textContent).toBe(
      'Could not change the idle policy: unknown idle policy "warmup" (400 invalid_argument)',
    );
  });

  it('is not offered by a server without idle policies', async () => {
    setup({ hash: '#/projects/p1', sandboxes: [makeSandbox()] });
    await tick();
    expect(screen.getByTestId('status-pill').textContent).toBe('RUNNING');
    expect(screen.queryByTestId('idle-policy-select')).toBeNull();
    expect(screen.queryByTestId('idle-policy')).toBeNull();
  });
});
