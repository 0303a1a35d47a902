import { isApiError } from '@sandboxd/client';
import { errorMessage } from '../format';

export function ErrorNote({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null;
  const code = isApiError(error) && error.status !== 0 ? ` (${error.status} ${error.code})` : '';
  return (
    <p className="error" role="alert">
      {prefix ? `${prefix}: ` : ''}
      {errorMessage(error)}
      {code}
    </p>
  );
}
