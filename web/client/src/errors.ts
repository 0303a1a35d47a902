/** A non-2xx answer of the API (or a network failure, status 0). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }

  get isNotFound(): boolean {
    return this.status === 404;
  }

  get isUnauthorized(): boolean {
    return this.status === 401;
  }
}

export function isApiError(err: unknown): err is ApiError {
  return err instanceof ApiError;
}

/** True when `err` is an ApiError with HTTP status 401 (not signed in). */
export function isUnauthorized(err: unknown): boolean {
  return isApiError(err) && err.status === 401;
}

/** True when `err` is an ApiError with HTTP status 404. */
export function isNotFound(err: unknown): boolean {
  return isApiError(err) && err.status === 404;
}
