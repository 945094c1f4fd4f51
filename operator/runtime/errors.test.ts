import { describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  ApiError,
  apiErrorFrom,
  ConflictError,
  ForbiddenError,
  GoneError,
  InvalidError,
  isGone,
  isResourceVersionTooLarge,
  NotFoundError,
  ServerError,
  TooManyRequestsError,
  UnauthorizedError,
} from './errors.js';

const status = (code: number, reason: string, message = 'm') => ({
  kind: 'Status',
  status: 'Failure',
  code,
  reason,
  message,
});

describe('apiErrorFrom', () => {
  it.each([
    [401, 'Unauthorized', UnauthorizedError],
    [403, 'Forbidden', ForbiddenError],
    [404, 'NotFound', NotFoundError],
    [409, 'Conflict', ConflictError],
    [409, 'AlreadyExists', AlreadyExistsError],
    [410, 'Expired', GoneError],
    [422, 'Invalid', InvalidError],
    [429, 'TooManyRequests', TooManyRequestsError],
    [500, 'InternalError', ServerError],
    [503, 'ServiceUnavailable', ServerError],
    [400, 'BadRequest', ApiError],
  ])('%i %s', (code, reason, type) => {
    const err = apiErrorFrom(code, status(code, reason));
    expect(err).toBeInstanceOf(type);
    expect(err.statusCode).toBe(code);
    expect(err.reason).toBe(reason);
  });

  it('keeps the API server message and names the request', () => {
    const err = apiErrorFrom(
      403,
      status(403, 'Forbidden', 'deployments.apps is forbidden: User "x" cannot list resource'),
      { method: 'GET', path: '/apis/apps/v1/deployments' },
    );
    expect(err.message).toBe(
      'GET /apis/apps/v1/deployments: deployments.apps is forbidden: User "x" cannot list resource (403 Forbidden)',
    );
    expect(err.serverMessage).toContain('cannot list');
  });

  it('exposes the causes of an Invalid error', () => {
    const err = apiErrorFrom(422, {
      ...status(422, 'Invalid'),
      details: {
        causes: [{ field: 'spec.replicas', reason: 'FieldValueInvalid', message: 'must be ≥ 0' }],
      },
    });
    expect((err as InvalidError).causes[0]!.field).toBe('spec.replicas');
  });

  it('treats a 500-coded Expired status (watch ERROR events) as Gone', () => {
    expect(isGone(apiErrorFrom(500, status(500, 'Expired')))).toBe(true);
  });

  it('copes with non-Status bodies', () => {
    const err = apiErrorFrom(502, '<html>bad gateway</html>');
    expect(err).toBeInstanceOf(ServerError);
    expect(err.message).toContain('bad gateway');
  });

  it('recognizes "too large resource version"', () => {
    const err = apiErrorFrom(504, {
      ...status(504, 'Timeout', 'Too large resource version'),
      details: {
        causes: [{ reason: 'ResourceVersionTooLarge', message: 'Too large resource version' }],
      },
    });
    expect(isResourceVersionTooLarge(err)).toBe(true);
    expect(isResourceVersionTooLarge(new Error('x'))).toBe(false);
  });
});
