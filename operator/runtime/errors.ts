/**
 * Typed errors for Kubernetes API failures.
 *
 * The API server answers failures with a `Status` object; its `reason` and `code` say what
 * went wrong and its `message` says why in words a user can act on, so every error keeps all three.
 */

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

/** metav1.Status as returned by the API server on failure (and by some deletes on success). */
export interface Status {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: StatusDetails;
}

/** Context of the failed call, for messages and logs. */
export interface RequestInfo {
  method: string;
  path: string;
}

/** Any non-2xx answer from the API server. Subclasses name the cases controllers branch on. */
export class ApiError extends Error {
  override name = 'ApiError';
  readonly statusCode: number;
  readonly reason: string;
  readonly status: Status;
  readonly request: RequestInfo | undefined;

  constructor(statusCode: number, status: Status, request?: RequestInfo) {
    const where = request ? `${request.method} ${request.path}: ` : '';
    const what = status.message || status.reason || `HTTP ${statusCode}`;
    super(`${where}${what} (${statusCode}${status.reason ? ` ${status.reason}` : ''})`);
    this.statusCode = statusCode;
    this.reason = status.reason ?? '';
    this.status = status;
    this.request = request;
  }

  /** The API server's own message, without our request prefix. */
  get serverMessage(): string {
    return this.status.message ?? '';
  }
}

export class NotFoundError extends ApiError {
  override name = 'NotFoundError';
}
/** 409 Conflict: optimistic concurrency (stale resourceVersion) or an apply field conflict. */
export class ConflictError extends ApiError {
  override name = 'ConflictError';
}
/** 409 AlreadyExists: a create of a name that is taken. */
export class AlreadyExistsError extends ApiError {
  override name = 'AlreadyExistsError';
}
/** 410 Gone / Expired: the resourceVersion was compacted away; relist. */
export class GoneError extends ApiError {
  override name = 'GoneError';
}
export class UnauthorizedError extends ApiError {
  override name = 'UnauthorizedError';
}
export class ForbiddenError extends ApiError {
  override name = 'ForbiddenError';
}
/** 422 Invalid: validation (OpenAPI, CEL, admission) refused the object; `causes` name the fields. */
export class InvalidError extends ApiError {
  override name = 'InvalidError';
  get causes(): StatusCause[] {
    return this.status.details?.causes ?? [];
  }
}
export class TooManyRequestsError extends ApiError {
  override name = 'TooManyRequestsError';
}
/** 5xx: the API server or something behind it failed; usually worth retrying. */
export class ServerError extends ApiError {
  override name = 'ServerError';
}

/** The request never got an HTTP answer: connection refused/reset, TLS failure, timeout. */
export class TransportError extends Error {
  override name = 'TransportError';
  readonly request: RequestInfo;
  constructor(request: RequestInfo, cause: unknown) {
    const why = cause instanceof Error ? cause.message : String(cause);
    super(`${request.method} ${request.path}: ${why}`, { cause });
    this.request = request;
  }
}

function isStatus(value: unknown): value is Status {
  return typeof value === 'object' && value !== null && (value as Status).kind === 'Status';
}

/** Maps an HTTP status and the (parsed or raw) body to the matching typed error. */
export function apiErrorFrom(statusCode: number, body: unknown, request?: RequestInfo): ApiError {
  const status: Status = isStatus(body)
    ? body
    : { code: statusCode, message: typeof body === 'string' ? body.slice(0, 500) : undefined };
  const code = status.code || statusCode;
  switch (code) {
    case 401:
      return new UnauthorizedError(code, status, request);
    case 403:
      return new ForbiddenError(code, status, request);
    case 404:
      return new NotFoundError(code, status, request);
    case 409:
      return status.reason === 'AlreadyExists'
        ? new AlreadyExistsError(code, status, request)
        : new ConflictError(code, status, request);
    case 410:
      return new GoneError(code, status, request);
    case 422:
      return new InvalidError(code, status, request);
    case 429:
      return new TooManyRequestsError(code, status, request);
    default:
      if (status.reason === 'Expired' || status.reason === 'Gone') {
        return new GoneError(code, status, request);
      }
      return code >= 500
        ? new ServerError(code, status, request)
        : new ApiError(code, status, request);
  }
}

export const isNotFound = (err: unknown): err is NotFoundError => err instanceof NotFoundError;
export const isConflict = (err: unknown): err is ConflictError => err instanceof ConflictError;
export const isAlreadyExists = (err: unknown): err is AlreadyExistsError =>
  err instanceof AlreadyExistsError;
export const isGone = (err: unknown): err is GoneError => err instanceof GoneError;
export const isForbidden = (err: unknown): err is ForbiddenError => err instanceof ForbiddenError;
export const isInvalid = (err: unknown): err is InvalidError => err instanceof InvalidError;

/** True when the apiserver says the requested resourceVersion is newer than it knows (after an etcd restore); relist. */
export function isResourceVersionTooLarge(err: unknown): boolean {
  return (
    err instanceof ApiError &&
    (err.status.details?.causes ?? []).some((c) => c.reason === 'ResourceVersionTooLarge')
  );
}
