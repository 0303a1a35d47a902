import { useState, type FormEvent } from 'react';
import { useSandboxClient } from '@sandboxd/react';
import type { AuthStore } from '../auth';
import { errorMessage } from '../format';

/** Asks for the API token and exchanges it for a session cookie (POST /api/session). */
export function SignInForm({ auth, message }: { auth: AuthStore; message: string | null }) {
  const client = useSandboxClient();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const value = token.trim();
    if (!value) return;
    setBusy(true);
    setError(null);
    try {
      await client.signIn(value);
      setToken('');
      auth.clear();
    } catch (err) {
      setError(
        (err as { status?: number }).status === 401 ? 'That token was not accepted.' : errorMessage(err),
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="card signin" data-testid="signin-form" onSubmit={submit}>
      <h2>Sign in</h2>
      <p className="muted">
        {message ?? 'This sandboxd needs its API token.'} <code>sandboxd serve</code> prints it at its
        first start and keeps it in <code>api-token</code> in its data directory:{' '}
        <code>data/api-token</code> in the repository under <code>make run</code>, else{' '}
        <code>&lt;--data-dir&gt;/api-token</code>. Opening the link it printed signs you in too.
      </p>
      <label htmlFor="signin-token">API token</label>
      <div className="row">
        <input
          id="signin-token"
          data-testid="signin-token"
          type="password"
          autoComplete="current-password"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
        />
        <button type="submit" className="primary" data-testid="signin-submit" disabled={busy || !token.trim()}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </div>
      {error && (
        <p className="error" role="alert" data-testid="signin-error">
          {error}
        </p>
      )}
    </form>
  );
}
