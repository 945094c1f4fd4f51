import { describe, expect, it } from 'vitest';
import { apiErrorFrom, TransportError } from '../runtime/errors.js';
import { type ApiCall, CtlError, describeApiError } from './errors.js';

const call: ApiCall = {
  verb: 'patch',
  resource: 'summarizerservices',
  group: 'llmplan.io',
  namespace: 'prod',
  name: 'llmplan',
};
const connection = { server: 'https://k8s:6443', source: '/k (from --kubeconfig)', context: 'dev' };
const info = {
  method: 'PATCH',
  path: '/apis/llmplan.io/v1alpha1/namespaces/prod/summarizerservices/llmplan',
};

function messageFor(statusCode: number, body: unknown): string {
  const err = describeApiError(apiErrorFrom(statusCode, body, info), call, connection);
  if (!(err instanceof CtlError)) throw new Error('not a CtlError');
  return err.message;
}

describe('describeApiError', () => {
  it('says which verb on which resource RBAC is missing for a Forbidden', () => {
    const message = messageFor(403, {
      kind: 'Status',
      reason: 'Forbidden',
      code: 403,
      message: 'summarizerservices.llmplan.io "llmplan" is forbidden: User "bob" cannot patch',
    });
    expect(message).toBe(
      'forbidden: you may not patch summarizerservices.llmplan.io "llmplan" in namespace "prod". Missing RBAC permission: verb "patch" on resource "summarizerservices" in API group "llmplan.io" (namespace prod).\n' +
        'The API server said: summarizerservices.llmplan.io "llmplan" is forbidden: User "bob" cannot patch',
    );
  });

  it('names the server, context and kubeconfig for refused credentials', () => {
    expect(messageFor(401, { kind: 'Status', code: 401, reason: 'Unauthorized' })).toBe(
      'unauthorized: the API server at https://k8s:6443 refused the credentials of context "dev" in /k (from --kubeconfig); log in again or check the kubeconfig',
    );
  });

  it('tells a missing CRD from a missing object', () => {
    expect(messageFor(404, '404 page not found')).toMatch(
      /^the API server at https:\/\/k8s:6443 does not serve summarizerservices\.llmplan\.io: is the llmplan CRD installed\?/,
    );
    // An object 404 is left to the caller (it knows the object's kind and name).
    const objectMissing = apiErrorFrom(
      404,
      { kind: 'Status', reason: 'NotFound', code: 404, details: { name: 'llmplan' } },
      info,
    );
    expect(describeApiError(objectMissing, call, connection)).toBeInstanceOf(CtlError);
  });

  it('asks to retry after a write conflict, and lists the causes of an invalid object', () => {
    expect(
      messageFor(409, { kind: 'Status', reason: 'Conflict', code: 409, message: 'modified' }),
    ).toMatch(/^conflict: llmplan changed while llmplanctl was writing it; run the command again/);
    expect(
      messageFor(422, {
        kind: 'Status',
        reason: 'Invalid',
        code: 422,
        message: 'SummarizerService "llmplan" is invalid',
        details: { causes: [{ field: 'spec.replicas', message: 'must be >= 0' }] },
      }),
    ).toBe(
      'the API server refused to patch summarizerservices.llmplan.io "llmplan": SummarizerService "llmplan" is invalid\n  spec.replicas: must be >= 0',
    );
  });

  it('names the server it could not reach', () => {
    const err = describeApiError(
      new TransportError(info, new Error('connect ECONNREFUSED 127.0.0.1:6443')),
      call,
      connection,
    );
    expect(err).toBeInstanceOf(CtlError);
    expect((err as CtlError).message).toBe(
      'cannot reach the API server at https://k8s:6443 (from /k (from --kubeconfig)): connect ECONNREFUSED 127.0.0.1:6443',
    );
  });

  it('passes anything else through', () => {
    const bug = new TypeError('x is undefined');
    expect(describeApiError(bug, call, connection)).toBe(bug);
  });
});
