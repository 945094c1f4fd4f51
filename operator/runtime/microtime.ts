/**
 * metav1.MicroTime: RFC 3339 with exactly six fractional digits, UTC ("2026-01-02T03:04:05.123456Z").
 * Leases and events.k8s.io Events require it; a JS Date only has milliseconds, so the
 * microseconds come from the high-resolution clock.
 */

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/** Formats epoch microseconds (a number or bigint) as a MicroTime. */
export function formatMicroTime(epochMicros: number | bigint): string {
  const micros = BigInt(typeof epochMicros === 'bigint' ? epochMicros : Math.floor(epochMicros));
  const millis = micros / 1000n;
  const subMilli = Number(((micros % 1000n) + 1000n) % 1000n);
  // Floor division for pre-1970 instants keeps the fraction non-negative.
  const floorMillis = micros < 0n && subMilli !== 0 ? millis - 1n : millis;
  const date = new Date(Number(floorMillis));
  const seconds = date.toISOString().slice(0, 19);
  return `${seconds}.${pad(date.getUTCMilliseconds(), 3)}${pad(subMilli, 3)}Z`;
}

/** Formats a Date (millisecond precision, microseconds 000). */
export function microTimeFromDate(date: Date): string {
  return formatMicroTime(date.getTime() * 1000);
}

/** The current time as epoch microseconds from the high-resolution clock. */
export function nowMicros(): number {
  return Math.floor((performance.timeOrigin + performance.now()) * 1000);
}

export function nowMicroTime(): string {
  return formatMicroTime(nowMicros());
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Parses a metav1.Time or MicroTime (any fraction width, any offset) to epoch milliseconds; NaN if malformed. */
export function parseKubeTime(value: string): number {
  const match = RFC3339.exec(value);
  if (!match) return Number.NaN;
  const [, base, fraction = '', zone] = match;
  const whole = Date.parse(`${base}${zone}`);
  const fractionMs = fraction ? Number(`0.${fraction}`) * 1000 : 0;
  return whole + fractionMs;
}
