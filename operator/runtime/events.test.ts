import { describe, expect, it } from 'vitest';
import { NotFoundError } from './errors.js';
import { EventRecorder, type EventSeries, type EventSink, type KubeEvent } from './events.js';
import type { KubeObject } from './resource.js';

const MICROTIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

class CapturingSink implements EventSink {
  created: KubeEvent[] = [];
  series: Array<{ namespace: string; name: string; series: EventSeries }> = [];
  failCreate = false;
  seriesNotFound = false;
  async create(event: KubeEvent): Promise<KubeEvent> {
    if (this.failCreate) throw new Error('apiserver down');
    this.created.push(event);
    return event;
  }
  async updateSeries(namespace: string, name: string, series: EventSeries): Promise<void> {
    if (this.seriesNotFound) throw new NotFoundError(404, { reason: 'NotFound' });
    this.series.push({ namespace, name, series });
  }
}

const deployment: KubeObject = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod', uid: 'uid-1', resourceVersion: '7' },
};

function setup(overrides: Partial<ConstructorParameters<typeof EventRecorder>[0]> = {}) {
  let now = Date.UTC(2026, 0, 1) * 1000;
  const sink = new CapturingSink();
  const recorder = new EventRecorder({
    sink,
    reportingController: 'example.io/operator',
    reportingInstance: 'pod-a',
    flushIntervalMs: 60_000,
    nowMicros: () => now,
    ...overrides,
  });
  return { sink, recorder, advance: (ms: number) => (now += ms * 1000) };
}

describe('EventRecorder', () => {
  it('writes an events.k8s.io/v1 Event with all reporting fields', async () => {
    const { sink, recorder } = setup();
    recorder.record(deployment, 'Normal', 'Created', 'Create', 'created Deployment prod/web');
    await recorder.flush();
    expect(sink.created).toHaveLength(1);
    const event = sink.created[0]!;
    expect(event).toMatchObject({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { namespace: 'prod' },
      reportingController: 'example.io/operator',
      reportingInstance: 'pod-a',
      type: 'Normal',
      reason: 'Created',
      action: 'Create',
      note: 'created Deployment prod/web',
      regarding: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'web',
        namespace: 'prod',
        uid: 'uid-1',
      },
    });
    expect(event.eventTime).toMatch(MICROTIME);
    expect(event.metadata.name).toMatch(/^web\.[0-9a-f]+$/);
    expect(event.series).toBeUndefined();
  });

  it('aggregates identical repeats into one series instead of new events', async () => {
    const { sink, recorder, advance } = setup();
    for (let i = 0; i < 5; i++) {
      recorder.record(deployment, 'Warning', 'BackOff', 'Restart', 'container crashed');
      advance(1000);
    }
    await recorder.flush();
    expect(sink.created).toHaveLength(1);
    expect(sink.series).toHaveLength(1);
    expect(sink.series[0]).toMatchObject({
      namespace: 'prod',
      name: sink.created[0]!.metadata.name,
    });
    expect(sink.series[0]!.series.count).toBe(5);
    expect(sink.series[0]!.series.lastObservedTime).toMatch(MICROTIME);
    // Nothing new since: no write.
    await recorder.flush();
    expect(sink.series).toHaveLength(1);
    recorder.record(deployment, 'Warning', 'BackOff', 'Restart', 'container crashed');
    await recorder.flush();
    expect(sink.series.at(-1)!.series.count).toBe(6);
  });

  it('keeps different events apart', async () => {
    const { sink, recorder } = setup();
    recorder.record(deployment, 'Normal', 'Created', 'Create', 'a');
    recorder.record(deployment, 'Normal', 'Created', 'Create', 'b');
    recorder.record(deployment, 'Warning', 'Created', 'Create', 'a');
    recorder.record(
      { ...deployment, metadata: { ...deployment.metadata, uid: 'uid-2' } },
      'Normal',
      'Created',
      'Create',
      'a',
    );
    await recorder.flush();
    expect(sink.created).toHaveLength(4);
  });

  it('starts a new event after the series window', async () => {
    const { sink, recorder, advance } = setup({ seriesWindowMs: 10_000 });
    recorder.record(deployment, 'Normal', 'Scaled', 'Scale', 'x');
    advance(11_000);
    recorder.record(deployment, 'Normal', 'Scaled', 'Scale', 'x');
    await recorder.flush();
    expect(sink.created).toHaveLength(2);
  });

  it('rate limits new events per object', async () => {
    const { sink, recorder } = setup({ perObjectBurst: 3 });
    for (let i = 0; i < 10; i++) recorder.record(deployment, 'Normal', 'Step', 'Do', `step ${i}`);
    await recorder.flush();
    expect(sink.created).toHaveLength(3);
  });

  it('never throws and keeps working when writes fail', async () => {
    const { sink, recorder } = setup();
    sink.failCreate = true;
    expect(() => recorder.record(deployment, 'Warning', 'Failed', 'Apply', 'x')).not.toThrow();
    await recorder.flush();
    sink.failCreate = false;
    recorder.record(deployment, 'Warning', 'Failed', 'Apply', 'x');
    await recorder.flush();
    expect(sink.created).toHaveLength(1); // a failed create does not leave a phantom series behind
  });

  it('starts over when the series event expired', async () => {
    const { sink, recorder } = setup();
    recorder.record(deployment, 'Normal', 'R', 'A', 'n');
    await recorder.flush();
    recorder.record(deployment, 'Normal', 'R', 'A', 'n');
    sink.seriesNotFound = true;
    await recorder.flush();
    recorder.record(deployment, 'Normal', 'R', 'A', 'n');
    await recorder.flush();
    expect(sink.created).toHaveLength(2);
  });

  it('puts events about cluster-scoped objects in default and truncates long notes', async () => {
    const { sink, recorder } = setup();
    const node: KubeObject = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1', uid: 'n' } };
    recorder.record(node, 'Normal', 'R', 'A', 'é'.repeat(2000));
    await recorder.flush();
    expect(sink.created[0]!.metadata.namespace).toBe('default');
    expect(Buffer.byteLength(sink.created[0]!.note!)).toBeLessThanOrEqual(1024);
    expect(sink.created[0]!.note!.endsWith('...')).toBe(true);
  });

  it('ignores records after stop', async () => {
    const { sink, recorder } = setup();
    await recorder.stop();
    recorder.record(deployment, 'Normal', 'R', 'A', 'n');
    await recorder.flush();
    expect(sink.created).toHaveLength(0);
  });
});
