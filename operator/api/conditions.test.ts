import { describe, expect, it } from 'vitest';
import {
  getCondition,
  isConditionTrue,
  removeCondition,
  setCondition,
  toRfc3339,
} from './conditions.js';

const t0 = new Date('2025-01-01T00:00:00.123Z');
const t1 = new Date('2025-01-01T01:00:00Z');

describe('setCondition', () => {
  it('adds a new condition with the given time and generation', () => {
    const list = setCondition(
      undefined,
      { type: 'Ready', status: 'True', reason: 'Available', message: 'ok' },
      t0,
      3,
    );
    expect(list).toEqual([
      {
        type: 'Ready',
        status: 'True',
        observedGeneration: 3,
        lastTransitionTime: '2025-01-01T00:00:00Z',
        reason: 'Available',
        message: 'ok',
      },
    ]);
  });

  it('keeps lastTransitionTime when only reason or message change', () => {
    const first = setCondition(
      [],
      { type: 'Ready', status: 'False', reason: 'A', message: 'a' },
      t0,
    );
    const second = setCondition(
      first,
      { type: 'Ready', status: 'False', reason: 'B', message: 'b' },
      t1,
    );
    expect(second[0]).toMatchObject({
      reason: 'B',
      message: 'b',
      lastTransitionTime: '2025-01-01T00:00:00Z',
    });
  });

  it('moves lastTransitionTime when the status changes, in place', () => {
    let list = setCondition([], { type: 'Ready', status: 'False', reason: 'A', message: '' }, t0);
    list = setCondition(list, { type: 'Degraded', status: 'False', reason: 'A', message: '' }, t0);
    const next = setCondition(
      list,
      { type: 'Ready', status: 'True', reason: 'B', message: '' },
      t1,
    );
    expect(next.map((c) => c.type)).toEqual(['Ready', 'Degraded']);
    expect(getCondition(next, 'Ready')?.lastTransitionTime).toBe('2025-01-01T01:00:00Z');
    expect(isConditionTrue(next, 'Ready')).toBe(true);
    expect(list[0]?.status).toBe('False'); // input untouched
  });

  it('truncates very long messages to the schema bound', () => {
    const list = setCondition(
      [],
      { type: 'X', status: 'True', reason: 'R', message: 'x'.repeat(40000) },
      t0,
    );
    expect(list[0]?.message.length).toBe(32768);
  });

  it('removes a condition and formats times as metav1.Time', () => {
    const list = setCondition([], { type: 'X', status: 'True', reason: 'R', message: '' }, t0);
    expect(removeCondition(list, 'X')).toEqual([]);
    expect(toRfc3339('2025-03-04T05:06:07.999Z')).toBe('2025-03-04T05:06:07Z');
  });
});
