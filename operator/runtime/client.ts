/**
 * A small REST client for any Kubernetes resource, addressed by a {@link ResourceDescriptor}:
 * get/list/create/replace/apply/patch/delete/watch with client-side rate limiting, Retry-After
 * handling, per-request timeouts, typed errors and client-go's rest_client_* metrics.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { request as undiciRequest } from 'undici';
import { sleep } from './backoff.js';
import type {
  ApplyOptions,
  CallOptions,
  ClientOptions,
  DeleteOptions,
  ListOptions,
  PatchOptions,
  PatchType,
  RawRequest,
  WatchEvent,
  WatchOptions,
  WriteOptions,
} from './client-options.js';
import { accessFromKubeConfig, type ClusterAccess, isKubeConfig } from './connection.js';
import {
  type ApiError,
  apiErrorFrom,
  isNotFound,
  type RequestInfo,
  TransportError,
} from './errors.js';
import { RuntimeMetrics } from './metrics.js';
import { TokenBucket } from './rate-limit.js';
import {
  type ApplyObject,
  apiVersionOf,
  type KubeList,
  type KubeObject,
  type ResourceDescriptor,
  resourcePath,
} from './resource.js';
import { KubeTransport } from './transport.js';

const PATCH_CONTENT_TYPE: Record<PatchType | 'apply', string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export class KubeClient {
  readonly metrics: RuntimeMetrics;
  readonly fieldManager: string | undefined;
  readonly #transport: KubeTransport;
  readonly #bucket: TokenBucket;
  readonly #timeoutMs: number;
  readonly #userAgent: string;
  readonly #maxRetries: number;
  readonly #maxRetryAfterMs: number;

  /** `source`: a client-node KubeConfig (current context) or a {@link ClusterAccess}, e.g. from loadClusterAccess(). */
  constructor(source: KubeConfig | ClusterAccess, options: ClientOptions = {}) {
    const access = isKubeConfig(source) ? accessFromKubeConfig(source) : source;
    this.#transport = new KubeTransport(access, options.transport);
    this.#bucket = new TokenBucket(options.qps ?? 300, options.burst ?? 600);
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#userAgent = options.userAgent ?? 'llmplan-runtime';
    this.#maxRetries = options.maxRetries ?? 3;
    this.#maxRetryAfterMs = options.maxRetryAfterMs ?? 10_000;
    this.fieldManager = options.fieldManager;
    this.metrics = options.metrics ?? new RuntimeMetrics();
  }

  async get<T extends KubeObject>(
    resource: ResourceDescriptor,
    name: string,
    namespace?: string,
    options: CallOptions & { subresource?: string } = {},
  ): Promise<T> {
    const path = resourcePath(resource, { namespace, name, subresource: options.subresource });
    return this.request<T>({ ...options, method: 'GET', path });
  }

  /** Like {@link get}, but undefined when the object does not exist. */
  async find<T extends KubeObject>(
    resource: ResourceDescriptor,
    name: string,
    namespace?: string,
    options: CallOptions = {},
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(resource, name, namespace, options);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** One page (or all, without `limit`) of a collection; items get their apiVersion/kind back. */
  async list<T extends KubeObject>(
    resource: ResourceDescriptor,
    options: ListOptions = {},
  ): Promise<KubeList<T>> {
    const { namespace, signal, timeoutMs, ...query } = options;
    const list = await this.request<KubeList<T>>({
      method: 'GET',
      path: resourcePath(resource, { namespace }),
      query: { ...query },
      signal,
      timeoutMs,
    });
    const apiVersion = apiVersionOf(resource);
    for (const item of list.items) {
      // List items omit apiVersion/kind; consumers (and apply comparisons) expect whole objects.
      item.apiVersion ??= apiVersion;
      item.kind ??= resource.kind;
    }
    return list;
  }

  async create<T extends KubeObject = KubeObject>(
    resource: ResourceDescriptor,
    obj: ApplyObject,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.request<T>({
      ...options,
      method: 'POST',
      path: resourcePath(resource, { namespace: obj.metadata?.namespace }),
      query: this.#writeQuery(options),
      body: withTypeMeta(resource, obj),
    });
  }

  /** PUT: with `metadata.resourceVersion` set it is an optimistic-concurrency update (409 if stale). */
  async replace<T extends KubeObject = KubeObject>(
    resource: ResourceDescriptor,
    obj: ApplyObject,
    options: WriteOptions = {},
  ): Promise<T> {
    return this.request<T>({
      ...options,
      method: 'PUT',
      path: resourcePath(resource, { ...objectParts(obj), subresource: options.subresource }),
      query: this.#writeQuery(options),
      body: withTypeMeta(resource, obj),
    });
  }

  /** Server-side apply of a (partial) object: the fields in `obj` become owned by the field manager. */
  async apply<T extends KubeObject>(
    resource: ResourceDescriptor,
    obj: ApplyObject,
    options: ApplyOptions = {},
  ): Promise<T> {
    const fieldManager = options.fieldManager ?? this.fieldManager;
    if (!fieldManager) throw new Error('server-side apply needs a fieldManager');
    return this.request<T>({
      ...options,
      method: 'PATCH',
      path: resourcePath(resource, { ...objectParts(obj), subresource: options.subresource }),
      query: {
        fieldManager,
        force: options.force ?? true,
        dryRun: options.dryRun ? 'All' : undefined,
      },
      // JSON is YAML, so the apply-patch+yaml content type takes it as is.
      body: withTypeMeta(resource, obj),
      contentType: PATCH_CONTENT_TYPE.apply,
    });
  }

  /** Server-side apply to the status subresource. */
  async applyStatus<T extends KubeObject>(
    resource: ResourceDescriptor,
    obj: ApplyObject,
    options: ApplyOptions = {},
  ): Promise<T> {
    return this.apply<T>(resource, obj, { ...options, subresource: 'status' });
  }

  async patch<T extends KubeObject>(
    resource: ResourceDescriptor,
    name: string,
    namespace: string | undefined,
    patch: unknown,
    options: PatchOptions = {},
  ): Promise<T> {
    return this.request<T>({
      ...options,
      method: 'PATCH',
      path: resourcePath(resource, { namespace, name, subresource: options.subresource }),
      query: this.#writeQuery(options),
      body: patch,
      contentType: PATCH_CONTENT_TYPE[options.type ?? 'merge'],
    });
  }

  /** Deletes; resolves true when the API server accepted it, false if already gone and `ignoreNotFound`. */
  async delete(
    resource: ResourceDescriptor,
    name: string,
    namespace: string | undefined,
    options: DeleteOptions = {},
  ): Promise<boolean> {
    const body = {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      preconditions: options.preconditions,
      propagationPolicy: options.propagationPolicy,
      gracePeriodSeconds: options.gracePeriodSeconds,
      dryRun: options.dryRun ? ['All'] : undefined,
    };
    try {
      await this.request<unknown>({
        method: 'DELETE',
        path: resourcePath(resource, { namespace, name }),
        body,
        signal: options.signal,
        timeoutMs: options.timeoutMs,
      });
      return true;
    } catch (err) {
      if (options.ignoreNotFound && isNotFound(err)) return false;
      throw err;
    }
  }

  /**
   * Opens a watch and yields its events until the server ends it, the signal aborts, or the
   * connection fails (then the iterator throws). ERROR events are yielded, not thrown: the
   * caller decides (410 means relist).
   */
  async *watch<T extends KubeObject>(
    resource: ResourceDescriptor,
    options: WatchOptions,
  ): AsyncGenerator<WatchEvent<T>, void, undefined> {
    const { namespace, signal, onActivity, ...params } = options;
    const path = resourcePath(resource, { namespace });
    const response = await this.#send({
      method: 'GET',
      path,
      query: { ...params, watch: true },
      signal,
      timeoutMs: 0,
    });
    const info = { method: 'GET', path };
    if (response.statusCode !== 200) {
      throw apiErrorFrom(response.statusCode, parseBody(await response.body.text()), info);
    }
    const decoder = new TextDecoder();
    let buffered = '';
    try {
      for await (const chunk of response.body) {
        onActivity?.();
        buffered += decoder.decode(chunk as Uint8Array, { stream: true });
        // One event per line; slice once per chunk, not once per line (chunks may hold many events).
        let start = 0;
        for (
          let newline = buffered.indexOf('\n');
          newline >= 0;
          newline = buffered.indexOf('\n', start)
        ) {
          const line = buffered.slice(start, newline).trim();
          start = newline + 1;
          if (line) yield JSON.parse(line) as WatchEvent<T>;
        }
        buffered = buffered.slice(start);
      }
    } catch (err) {
      if (signal.aborted) return;
      throw new TransportError(info, err);
    } finally {
      response.body.destroy();
    }
  }

  /** Any API call; resolves the parsed JSON body of a 2xx answer, throws typed errors otherwise. */
  async request<T>(req: RawRequest): Promise<T> {
    const text = await this.requestText(req);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Any API call whose answer is not JSON (a pod's /metrics through `pods/proxy`): the body
   * of a 2xx answer as text, typed errors otherwise. `maxBytes` bounds what is read.
   */
  async requestText(req: RawRequest & { maxBytes?: number }): Promise<string> {
    const info = { method: req.method, path: req.path };
    let retried401 = false;
    for (let attempt = 0; ; attempt++) {
      const response = await this.#send(req);
      const text = await readText(response.body, req.maxBytes, info);
      if (response.statusCode >= 200 && response.statusCode < 300) {
        return text;
      }
      const error = apiErrorFrom(response.statusCode, parseBody(text), info);
      if (response.statusCode === 401 && !retried401) {
        // Credentials may have rotated (token file, exec plugin): fetch fresh ones once.
        retried401 = true;
        this.#transport.invalidateCredentials();
        continue;
      }
      const retryAfterMs = retryAfter(response.headers['retry-after'], error);
      const retryable =
        response.statusCode === 429 || (response.statusCode >= 500 && retryAfterMs !== undefined);
      if (retryable && attempt < (req.maxRetries ?? this.#maxRetries) && !req.signal?.aborted) {
        await sleep(Math.min(retryAfterMs ?? 1000, this.#maxRetryAfterMs), req.signal);
        continue;
      }
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.#transport.close();
  }

  #writeQuery(options: WriteOptions): Record<string, string | undefined> {
    return {
      fieldManager: options.fieldManager ?? this.fieldManager,
      dryRun: options.dryRun ? 'All' : undefined,
    };
  }

  /** Rate limit, send, count. The body of the returned response must be consumed by the caller. */
  async #send(req: RawRequest) {
    const info: RequestInfo = { method: req.method, path: req.path };
    const limiterStart = performance.now();
    await this.#bucket.take(req.signal);
    this.metrics.restClientRateLimiterDuration.observe(
      { verb: req.method },
      (performance.now() - limiterStart) / 1000,
    );
    const { server, agent } = await this.#transport.connection();
    const url = new URL(server + req.path);
    for (const [key, value] of Object.entries(req.query ?? {})) {
      if (value !== undefined && value !== '') url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      ...(await this.#transport.authHeaders()),
      accept: 'application/json',
      'user-agent': this.#userAgent,
    };
    let body: string | undefined;
    if (req.body !== undefined) {
      body = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers['content-type'] = req.contentType ?? 'application/json';
    }
    const timeoutMs = req.timeoutMs ?? this.#timeoutMs;
    const signals = [req.signal, timeoutMs > 0 ? AbortSignal.timeout(timeoutMs) : undefined].filter(
      (s): s is AbortSignal => s !== undefined,
    );
    const start = performance.now();
    try {
      const response = await undiciRequest(url, {
        dispatcher: agent,
        method: req.method,
        headers,
        body,
        signal: signals.length ? AbortSignal.any(signals) : undefined,
      });
      this.metrics.restClientRequests.inc({
        code: String(response.statusCode),
        method: req.method,
      });
      return response;
    } catch (err) {
      this.metrics.restClientRequests.inc({ code: '<error>', method: req.method });
      throw new TransportError(info, err);
    } finally {
      this.metrics.restClientDuration.observe(
        { verb: req.method },
        (performance.now() - start) / 1000,
      );
    }
  }
}

function objectParts(obj: ApplyObject): { namespace?: string; name: string } {
  const name = obj.metadata?.name;
  if (!name) throw new Error('object has no metadata.name');
  return { namespace: obj.metadata?.namespace, name };
}

function withTypeMeta(resource: ResourceDescriptor, obj: ApplyObject): ApplyObject {
  return {
    ...obj,
    apiVersion: obj.apiVersion ?? apiVersionOf(resource),
    kind: obj.kind ?? resource.kind,
  };
}

/** The body as text, refusing (and destroying the stream) past `maxBytes`. */
async function readText(
  body: AsyncIterable<unknown> & { text(): Promise<string>; destroy(): unknown },
  maxBytes: number | undefined,
  info: RequestInfo,
): Promise<string> {
  if (maxBytes === undefined) return body.text();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = chunk as Uint8Array;
    size += bytes.byteLength;
    if (size > maxBytes) {
      body.destroy();
      throw new TransportError(info, new Error(`response larger than ${maxBytes} bytes`));
    }
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function retryAfter(header: string | string[] | undefined, error: ApiError): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  const seconds = value !== undefined ? Number(value) : error.status.details?.retryAfterSeconds;
  return seconds !== undefined && Number.isFinite(seconds) && seconds >= 0
    ? seconds * 1000
    : undefined;
}
