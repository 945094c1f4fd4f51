import { Counter, Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { parseBindAddress, RuntimeServer } from './server.js';

let server: RuntimeServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function start() {
  const registry = new Registry();
  new Counter({ name: 'things_total', help: 'things', registers: [registry] }).inc(3);
  server = new RuntimeServer({ registry, bindAddress: '127.0.0.1:0' });
  const { port } = await server.start();
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
  };
  return { server, get, port };
}

describe('RuntimeServer', () => {
  it('serves Prometheus metrics', async () => {
    const { get } = await start();
    const res = await get('/metrics');
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain');
    expect(res.body).toContain('things_total 3');
  });

  it('healthz and readyz pass by default', async () => {
    const { get } = await start();
    expect(await get('/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect(await get('/readyz')).toMatchObject({ status: 200, body: 'ok\n' });
  });

  it('readyz fails while a check fails, and names it', async () => {
    const { server, get } = await start();
    let synced = false;
    server.addReadyCheck('informers-synced', () => synced);
    server.addReadyCheck('throws', async () => {
      if (!synced) throw new Error('x');
      return true;
    });
    const failing = await get('/readyz');
    expect(failing.status).toBe(503);
    expect(failing.body).toContain('[-]informers-synced failed');
    expect(failing.body).toContain('[-]throws failed');
    synced = true;
    expect((await get('/readyz')).status).toBe(200);
    expect((await get('/readyz?verbose')).body).toContain('[+]informers-synced ok');
    expect((await get('/healthz')).status).toBe(200); // liveness does not depend on readiness
  });

  it('answers 404 for unknown paths and 405 for writes', async () => {
    const { get, port } = await start();
    expect((await get('/nope')).status).toBe(404);
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('parses bind addresses', () => {
    expect(parseBindAddress(':8080')).toEqual({ host: undefined, port: 8080 });
    expect(parseBindAddress('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseBindAddress('[::1]:9090')).toEqual({ host: '::1', port: 9090 });
    expect(() => parseBindAddress('localhost')).toThrow(/invalid bind address/);
    expect(() => parseBindAddress(':99999')).toThrow(/invalid bind address/);
  });
});
