import { describe, expect, it } from 'vitest';
import type { Revision, RevisionHealth } from '../remediation/revisions.js';
import { chooseRollbackTarget } from './rollback-target.js';

function revision(number: number, hash: string, health: RevisionHealth = 'unknown'): Revision {
  return {
    name: `llmplan-${hash}`,
    hash,
    number,
    health,
    ...(health === 'failed' ? { healthReason: 'CrashLoopBackOff' } : {}),
    image: `ghcr.io/acme/s:v${number}`,
    data: {
      podTemplate: {},
      configData: {},
      spec: {} as Revision['data']['spec'],
      generation: number,
    },
  };
}

const r1 = revision(1, 'aaaaa1', 'healthy');
const r2 = revision(2, 'bbbbb2', 'healthy');
const r3 = revision(3, 'ccccc3', 'failed');
const r4 = revision(4, 'ddddd4');

function target(...args: Parameters<typeof chooseRollbackTarget>): string {
  const choice = chooseRollbackTarget(...args);
  return choice.ok ? `${choice.revision.number}: ${choice.why}` : `error: ${choice.message}`;
}

describe('chooseRollbackTarget', () => {
  it('defaults to the last healthy revision when it is not the current one', () => {
    expect(
      target('llmplan', [r3, r1, r2], { currentRevision: 'ccccc3', lastHealthyRevision: 'aaaaa1' }),
    ).toBe('1: the last healthy revision');
  });

  it('else to the newest earlier revision not judged failed', () => {
    // The current revision is the last healthy one: go to the one before it.
    expect(
      target('llmplan', [r1, r2], { currentRevision: 'bbbbb2', lastHealthyRevision: 'bbbbb2' }),
    ).toBe('1: the previous revision');
    // No last healthy revision known: previous, skipping a failed one.
    expect(target('llmplan', [r1, r2, r3, r4], { currentRevision: 'ddddd4' })).toBe(
      '2: the previous revision',
    );
    // A last healthy revision that was pruned: previous.
    expect(
      target('llmplan', [r2, r3], { currentRevision: 'ccccc3', lastHealthyRevision: 'zzzzz9' }),
    ).toBe('2: the previous revision');
  });

  it('counts from the newest revision when status has no current revision yet', () => {
    expect(target('llmplan', [r1, r2], {})).toBe('1: the previous revision');
  });

  it('says why there is nothing to roll back to', () => {
    expect(target('llmplan', [], {})).toBe(
      'error: summarizerservice llmplan has no revisions yet (the operator records one per pod template it deploys)',
    );
    expect(target('llmplan', [r1], { currentRevision: 'aaaaa1' })).toMatch(
      /^error: summarizerservice llmplan has no revision to roll back to: revision 1 is the current one .*\(known: 1\); pass --to-revision$/,
    );
    expect(target('llmplan', [r3, r4], { currentRevision: 'ddddd4' })).toMatch(/known: 3, 4/);
  });

  it('takes the requested revision by number or hash', () => {
    expect(target('llmplan', [r1, r2, r4], { currentRevision: 'ddddd4' }, { number: 2 })).toBe(
      '2: the requested revision',
    );
    expect(target('llmplan', [r1, r2], {}, { hash: 'aaaaa1' })).toBe('1: the requested revision');
    const digits = revision(5, '1234567890');
    expect(target('llmplan', [r1, digits], {}, { number: 1234567890 })).toBe(
      '5: the requested revision',
    );
  });

  it('refuses an unknown revision, listing the known ones', () => {
    expect(target('llmplan', [r2, r1, r3], {}, { number: 7 })).toBe(
      'error: revision 7 not found; known: 1, 2, 3',
    );
    expect(target('llmplan', [r1], {}, { hash: 'fffff0' })).toBe(
      'error: revision fffff0 not found; known: 1',
    );
    expect(target('llmplan', [], {}, { number: 1 })).toBe(
      'error: revision 1 not found; summarizerservice llmplan has no revisions yet',
    );
  });

  it('warns when the requested revision was judged failed', () => {
    const choice = chooseRollbackTarget('llmplan', [r1, r3], {}, { number: 3 });
    expect(choice).toMatchObject({
      ok: true,
      warning: 'revision 3 was judged failed (CrashLoopBackOff); rolling back to it anyway',
    });
  });
});
