/**
 * Errors llmplanctl reports: each says what failed in words a user can act on, and carries
 * the exit code. API errors are translated here, with the call that failed (verb, resource,
 * namespace), so "Forbidden" says which permission is missing.
 */
import {
  ApiError,
  ConflictError,
  ForbiddenError,
  InvalidError,
  NotFoundError,
  TransportError,
  UnauthorizedError,
} from '../runtime/errors.js';

/** A failure to report to the user; exit code 1 unless stated. */
export class CtlError extends Error {
  override name = 'CtlError';
  readonly exitCode: number;
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

/** One API call, described for error messages. */
export interface ApiCall {
  verb: 'get' | 'list' | 'patch' | 'create' | 'delete';
  /** Plural resource, e.g. summarizerservices. */
  resource: string;
  /** API group, '' for core. */
  group: string;
  namespace: string;
  name?: string;
}

/** Where the calls go, for messages about credentials and reachability. */
export interface Connection {
  server: string;
  /** The kubeconfig file (or "in-cluster service account"). */
  source: string;
  context?: string;
}

function resourceName(call: ApiCall): string {
  return call.group ? `${call.resource}.${call.group}` : call.resource;
}

/** A user-facing CtlError for a failed API call (the original as its cause); anything unknown is passed through. */
export function describeApiError(err: unknown, call: ApiCall, connection: Connection): unknown {
  if (err instanceof CtlError) return err;
  const message = messageFor(err, call, connection);
  return message === undefined ? err : new CtlError(message, { cause: err });
}

function messageFor(err: unknown, call: ApiCall, connection: Connection): string | undefined {
  const what = `${call.verb} ${resourceName(call)}${call.name ? ` "${call.name}"` : ''}`;
  const where = `in namespace "${call.namespace}"`;
  if (err instanceof ForbiddenError) {
    const said = err.serverMessage ? `\nThe API server said: ${err.serverMessage}` : '';
    return `forbidden: you may not ${what} ${where}. Missing RBAC permission: verb "${call.verb}" on resource "${call.resource}" in API group "${call.group}" (namespace ${call.namespace}).${said}`;
  }
  if (err instanceof UnauthorizedError) {
    const context = connection.context ? ` of context "${connection.context}"` : '';
    return `unauthorized: the API server at ${connection.server} refused the credentials${context} in ${connection.source}; log in again or check the kubeconfig`;
  }
  if (err instanceof NotFoundError && !isObjectNotFound(err)) {
    // A 404 without the object's name: the resource type itself is unknown to the server.
    return `the API server at ${connection.server} does not serve ${resourceName(call)}: is the llmplan CRD installed? (kubectl apply --server-side -f crds/summarizerservice.yaml)`;
  }
  if (err instanceof ConflictError) {
    return `conflict: ${call.name ?? 'the object'} changed while llmplanctl was writing it; run the command again (${err.serverMessage || err.message})`;
  }
  if (err instanceof InvalidError) {
    const causes = err.causes.map((c) => `\n  ${c.field ?? ''}: ${c.message ?? c.reason ?? ''}`);
    return `the API server refused to ${what}: ${err.serverMessage || err.message}${causes.join('')}`;
  }
  if (err instanceof ApiError) return `${what} ${where} failed: ${err.message}`;
  if (err instanceof TransportError) {
    const cause = err.cause instanceof Error ? err.cause.message : err.message;
    return `cannot reach the API server at ${connection.server} (from ${connection.source}): ${cause}`;
  }
  return undefined;
}

/** Runs one API call; a failure becomes the user-facing error for `what`. */
export async function callApi<T>(
  connection: Connection,
  what: ApiCall,
  run: () => Promise<T>,
): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw describeApiError(err, what, connection);
  }
}

/** A 404 about one named object (the type exists), as opposed to an unknown resource type. */
export function isObjectNotFound(err: NotFoundError): boolean {
  return err.status.reason === 'NotFound' && Boolean(err.status.details?.name);
}
