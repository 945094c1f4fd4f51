import { describe, expect, it } from 'vitest';
import { formatMicroTime, microTimeFromDate, nowMicroTime, parseKubeTime } from './microtime.js';

const MICROTIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

describe('MicroTime', () => {
  it('formats with exactly six fractional digits', () => {
    const micros = Date.UTC(2026, 0, 2, 3, 4, 5, 123) * 1000 + 456;
    expect(formatMicroTime(micros)).toBe('2026-01-02T03:04:05.123456Z');
    expect(formatMicroTime(BigInt(micros))).toBe('2026-01-02T03:04:05.123456Z');
  });

  it('pads small fractions', () => {
    expect(formatMicroTime(Date.UTC(2026, 0, 1) * 1000 + 7)).toBe('2026-01-01T00:00:00.000007Z');
    expect(formatMicroTime(Date.UTC(2026, 0, 1) * 1000)).toBe('2026-01-01T00:00:00.000000Z');
  });

  it('handles instants before 1970', () => {
    expect(formatMicroTime(-1)).toBe('1969-12-31T23:59:59.999999Z');
  });

  it('formats Dates and now', () => {
    expect(microTimeFromDate(new Date('2026-05-06T07:08:09.010Z'))).toBe(
      '2026-05-06T07:08:09.010000Z',
    );
    const now = nowMicroTime();
    expect(now).toMatch(MICROTIME);
    expect(Math.abs(parseKubeTime(now) - Date.now())).toBeLessThan(1000);
  });

  it('parses Time and MicroTime of any precision and offset', () => {
    expect(parseKubeTime('2026-01-02T03:04:05Z')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseKubeTime('2026-01-02T03:04:05.123456Z')).toBeCloseTo(
      Date.UTC(2026, 0, 2, 3, 4, 5, 123) + 0.456,
      3,
    );
    expect(parseKubeTime('2026-01-02T05:04:05+02:00')).toBe(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(parseKubeTime('yesterday')).toBeNaN();
  });

  it('round-trips', () => {
    const micros = 1_767_323_045_123_456;
    expect(parseKubeTime(formatMicroTime(micros)) * 1000).toBeCloseTo(micros, -1);
  });
});
