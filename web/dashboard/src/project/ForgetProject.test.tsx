import { fireEvent, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { freshPagePerTest, makeSandbox, setup, tick } from '../test-utils';

freshPagePerTest();

const killed = () => makeSandbox({ projectId: 'old', status: 'KILLED', url: null, pauseAt: null });
const button = (testId: string) => screen.getByTestId(testId) as HTMLButtonElement;

describe('Forget on the project page', () => {
  it('is offered only once the sandbox is KILLED', async () => {
    setup({ hash: '#/projects/p1', sandboxes: [makeSandbox()] });
    await tick();
    expect(screen.queryByTestId('forget-button')).toBeNull();
  });

  it('asks keep or remove history, then forgets and goes back to the list', async () => {
    const { server } = setup({ hash: '#/projects/old', sandboxes: [killed(), makeSandbox({ projectId: 'p1' })] });
    await tick();
    fireEvent.click(button('forget-button'));
    await tick();
    expect(server.calls.some((c) => c.method === 'DELETE')).toBe(false);
    // No choice made yet: nothing to confirm.
    expect(button('forget-confirm-button').disabled).toBe(true);
    fireEvent.click(screen.getByTestId('forget-remove-history'));
    expect(button('forget-confirm-button').disabled).toBe(false);
    fireEvent.click(button('forget-confirm-button'));
    await tick();
    expect(server.calls.find((c) => c.method === 'DELETE')?.path).toBe('/api/projects/old?history=remove');
    expect(window.location.hash).toBe('#/');
    await tick();
    expect(screen.getByTestId('sandbox-row-p1')).toBeTruthy();
    expect(screen.queryByTestId('sandbox-row-old')).toBeNull();
  });

  it('keeps the history when asked to, and Cancel forgets nothing', async () => {
    const { server } = setup({ hash: '#/projects/old', sandboxes: [killed()] });
    await tick();
    fireEvent.click(button('forget-button'));
    fireEvent.click(screen.getByTestId('forget-keep-history'));
    fireEvent.click(button('forget-cancel'));
    await tick();
    expect(screen.queryByTestId('forget-confirm')).toBeNull();
    expect(server.calls.some((c) => c.method === 'DELETE')).toBe(false);
    // Opened again, the choice starts over.
    fireEvent.click(button('forget-button'));
    expect(button('forget-confirm-button').disabled).toBe(true);
    fireEvent.click(screen.getByTestId('forget-keep-history'));
    fireEvent.click(button('forget-confirm-button'));
    await tick();
    expect(server.calls.find((c) => c.method === 'DELETE')?.path).toBe('/api/projects/old?history=keep');
    expect(window.location.hash).toBe('#/');
  });

  it('stays on the page and says why when the server refuses', async () => {
    const { server } = setup({ hash: '#/projects/old', sandboxes: [killed()] });
    await tick();
    // Woken elsewhere meanwhile: the server refuses to forget a live sandbox.
    server.change('old', { status: 'RUNNING' });
    fireEvent.click(button('forget-button'));
    fireEvent.click(screen.getByTestId('forget-remove-history'));
    fireEvent.click(button('forget-confirm-button'));
    await tick();
    expect(window.location.hash).toBe('#/projects/old');
    expect(screen.getByText(/Could not forget the project: .*\(409 failed_precondition\)/)).toBeTruthy();
  });
});
