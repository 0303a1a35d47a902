import { describe, expect, it, vi } from 'vitest';
import { SandboxClient } from '@sandboxd/client';
import { fakeServer } from '../../client/src/test-utils';
import { createAuthStore, signInFromUrl, takeTokenFromUrl } from './auth';

function fakeWindow(href: string) {
  const win = {
    location: { href },
    history: {
      state: { keep: true },
      replaceState: vi.fn((_state: unknown, _unused: string, url?: string | URL | null) => {
        win.location.href = new URL(String(url), win.location.href).href;
      }),
    },
  };
  return win;
}

describe('token sign-in from the URL', () => {
  it('strips the token from the address bar, keeping other parameters and the hash', () => {
    const win = fakeWindow('http://127.0.0.1:8080/?token=s3cr3t&lang=en#/projects/p1');
    expect(takeTokenFromUrl(win)).toBe('s3cr3t');
    expect(win.history.replaceState).toHaveBeenCalledWith({ keep: true }, '', '/?lang=en#/projects/p1');
    expect(win.location.href).toBe('http://127.0.0.1:8080/?lang=en#/projects/p1');
    expect(win.location.href).not.toContain('s3cr3t');
  });

  it('takes the token from the #token= fragment the server prints and clears the hash', () => {
    const win = fakeWindow('http://127.0.0.1:8080/#token=s3cr3t');
    expect(takeTokenFromUrl(win)).toBe('s3cr3t');
    expect(win.history.replaceState).toHaveBeenCalledWith({ keep: true }, '', '/');
    expect(win.location.href).toBe('http://127.0.0.1:8080/');
  });

  it('takes the token from a hash route, keeping the route', () => {
    const win = fakeWindow('http://127.0.0.1:8080/?lang=en#/projects/p1?token=s3cr3t');
    expect(takeTokenFromUrl(win)).toBe('s3cr3t');
    expect(win.location.href).toBe('http://127.0.0.1:8080/?lang=en#/projects/p1');
    const more = fakeWindow('http://127.0.0.1:8080/#/jobs?token=a%2Bb&x=1');
    expect(takeTokenFromUrl(more)).toBe('a+b');
    expect(more.location.href).toBe('http://127.0.0.1:8080/#/jobs?x=1');
  });

  it('leaves hash routes without a token alone', () => {
    const win = fakeWindow('http://127.0.0.1:8080/#/projects/token=x?y=1');
    expect(takeTokenFromUrl(win)).toBeNull();
    expect(win.history.replaceState).not.toHaveBeenCalled();
  });

  it('leaves a URL without token alone', () => {
    const win = fakeWindow('http://127.0.0.1:8080/#/jobs');
    expect(takeTokenFromUrl(win)).toBeNull();
    expect(win.history.replaceState).not.toHaveBeenCalled();
  });

  it('strips the token before it posts it as Bearer to /api/session', async () => {
    const server = fakeServer({ token: 's3cr3t' });
    const win = fakeWindow('http://127.0.0.1:8080/#token=s3cr3t');
    let hrefAtPost = '';
    const client = new SandboxClient({
      fetch: (input, init) => {
        hrefAtPost = win.location.href;
        return server.fetch(input, init);
      },
    });
    const auth = createAuthStore();
    await signInFromUrl(client, auth, win);
    expect(hrefAtPost).toBe('http://127.0.0.1:8080/');
    expect(server.calls).toHaveLength(1);
    expect(server.calls[0]).toMatchObject({ method: 'POST', path: '/api/session' });
    expect(server.calls[0]!.headers['Authorization']).toBe('Bearer s3cr3t');
    expect(server.signedIn).toBe(true);
    expect(auth.get().required).toBe(false);
  });

  it('asks for a token when the one in the link is refused', async () => {
    const server = fakeServer({ token: 'right' });
    const auth = createAuthStore();
    const win = fakeWindow('http://127.0.0.1:8080/?token=wrong');
    await signInFromUrl(new SandboxClient({ fetch: server.fetch }), auth, win);
    expect(auth.get().required).toBe(true);
    expect(auth.get().message).toMatch(/not accepted/);
    expect(win.location.href).toBe('http://127.0.0.1:8080/');
  });
});
