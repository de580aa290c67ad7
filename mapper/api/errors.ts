// The one catalogue of API error codes: each maps to an HTTP status and a stable JSON body
// `{code, message}`. Clients (the sniffer's reporter) branch on `code` and on the status class:
// 4xx means "do not retry this batch", 503 means "retry later".
import type { Response } from 'express';

/** Every error the HTTP API answers with, and its status. */
export const API_ERRORS = {
  'missing-token': 401,
  'invalid-token': 401,
  'reporter-mismatch': 403,
  'not-found': 404,
  'too-many-attempts': 429,
  'body-too-large': 413,
  'unsupported-media-type': 415,
  'malformed-json': 400,
  'json-too-deep': 400,
  'invalid-batch': 422,
  'clock-skew': 422,
  'invalid-query': 400,
  'shutting-down': 503,
  'store-unavailable': 503,
  'cluster-state-behind': 503,
  overloaded: 503,
  internal: 500,
} as const;

/** A code from the catalogue. */
export type ApiErrorCode = keyof typeof API_ERRORS;

/** An error the API answers with; thrown by handlers and rendered by the error middleware. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(message);
  }

  /** The HTTP status of this error. */
  get status(): number {
    return API_ERRORS[this.code];
  }
}

/** The JSON body of an error response. */
export interface ApiErrorBody {
  readonly code: ApiErrorCode;
  readonly message: string;
}

/** Sends an error in the catalogue's shape. */
export function sendApiError(res: Response, err: ApiError): void {
  const body: ApiErrorBody = { code: err.code, message: err.message };
  if (
    err.code === 'shutting-down' ||
    err.code === 'store-unavailable' ||
    err.code === 'cluster-state-behind' ||
    err.code === 'overloaded'
  )
    res.setHeader('Retry-After', '5');
  res.status(err.status).json(body);
}

/** Translates a body-parser or SQLite error into the catalogue; anything unknown becomes `internal`. */
export function toApiError(err: unknown): ApiError {
  if (err instanceof ApiError) return err;
  const e = err as { type?: string; code?: string; message?: string; limit?: number };
  if (e.type === 'entity.too.large')
    return new ApiError(
      'body-too-large',
      `request body is larger than the limit of ${e.limit ?? '?'} bytes; send smaller batches`,
    );
  if (e.type === 'encoding.unsupported' || e.type === 'charset.unsupported')
    return new ApiError('unsupported-media-type', e.message ?? 'unsupported encoding');
  if (e.type === 'request.aborted')
    return new ApiError('malformed-json', 'the request was aborted before the body was complete');
  if (typeof e.code === 'string' && /^SQLITE_(BUSY|LOCKED|FULL|IOERR|READONLY|CANTOPEN)/.test(e.code)) {
    return new ApiError('store-unavailable', `the store could not commit the batch (${e.code}); retry later`);
  }
  return new ApiError('internal', 'internal error; see the mapper log');
}
