import type { SandboxClient } from '@sandboxd/client';

export interface AuthState {
  /** True when the API answered 401: the sign-in form is shown. */
  required: boolean;
  /** Why (shown above the form). */
  message: string | null;
}

export interface AuthStore {
  get(): AuthState;
  subscribe(listener: () => void): () => void;
  require(message?: string | null): void;
  clear(): void;
}

export function createAuthStore(initial: AuthState = { required: false, message: null }): AuthStore {
  let state = initial;
  const listeners = new Set<() => void>();
  const set = (next: AuthState) => {
    if (next.required === state.required && next.message === state.message) return;
    state = next;
    for (const l of [...listeners]) l();
  };
  return {
    get: () => state,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    require(message = null) {
      set({ required: true, message: message ?? state.message });
    },
    clear() {
      set({ required: false, message: null });
    },
  };
}

interface UrlWindow {
  location: { href: string };
  history: { state: unknown; replaceState(data: unknown, unused: string, url?: string | URL | null): void };
}

/**
 * The token in a hash: `#token=…` (the link sandboxd prints) or a hash route with it, as in
 * `#/projects/p1?token=…`. Returns the token and the hash without it, or null.
 */
function splitHashToken(hash: string): { token: string; hash: string } | null {
  const body = hash.replace(/^#/, '');
  const q = body.startsWith('token=') ? -1 : body.indexOf('?');
  if (q === -1 && !body.startsWith('token=')) return null;
  const route = q === -1 ? '' : body.slice(0, q);
  const params = new URLSearchParams(q === -1 ? body : body.slice(q + 1));
  const token = params.get('token');
  if (token === null) return null;
  params.delete('token');
  const rest = params.toString();
  const kept = route === '' ? (rest === '' ? '' : `?${rest}`) : rest === '' ? route : `${route}?${rest}`;
  return { token, hash: kept === '' ? '' : `#${kept}` };
}

/**
 * If the address carries the token — `#token=…` (the link sandboxd prints; a fragment never
 * reaches the server or its access logs) or `?token=…` (older links) — remove it from the address
 * bar right away with history.replaceState (keeping other parameters and the hash route) and
 * return it.
 */
export function takeTokenFromUrl(win: UrlWindow = window): string | null {
  const url = new URL(win.location.href);
  const fromHash = splitHashToken(url.hash);
  const fromQuery = url.searchParams.get('token');
  if (fromHash === null && fromQuery === null) return null;
  url.searchParams.delete('token');
  const hash = fromHash === null ? url.hash : fromHash.hash;
  win.history.replaceState(win.history.state, '', `${url.pathname}${url.search}${hash}`);
  const token = fromHash?.token ?? fromQuery ?? '';
  return token.trim() || null;
}

/**
 * Sign in with a token taken from the URL: strip it from the address bar, then
 * POST /api/session with it as Bearer (the server sets an HttpOnly cookie). Null when the URL has
 * no token. The promise never rejects: a refused token shows the sign-in form.
 */
export function signInFromUrl(
  client: SandboxClient,
  auth: AuthStore,
  win: UrlWindow = window,
): Promise<void> | null {
  const token = takeTokenFromUrl(win);
  if (token === null) return null;
  return client.signIn(token).then(
    () => auth.clear(),
    (err: unknown) =>
      auth.require(
        `The token in the link was not accepted${err instanceof Error ? ` (${err.message})` : ''}.`,
      ),
  );
}
