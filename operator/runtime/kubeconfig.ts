/**
 * A dependency-light kubeconfig / in-cluster loader producing {@link ClusterAccess}.
 *
 * Supports what an operator uses: in-cluster ServiceAccount credentials (the projected token
 * is re-read every minute, as it rotates), and kubeconfig files with CA/client certificates
 * (inline data or files, paths relative to the kubeconfig), bearer tokens, token files and
 * basic auth. Exec plugins and auth providers are refused with a clear error: use
 * client-node's KubeConfig for those.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import type { ClusterAccess, TlsMaterial } from './connection.js';

export interface LoadOptions {
  /** Kubeconfig path; default: first existing entry of $KUBECONFIG, else ~/.kube/config, else in-cluster. */
  kubeconfig?: string;
  /** Context name; default: current-context. */
  context?: string;
  /** Where in-cluster credentials live (tests override). */
  serviceAccountDir?: string;
  /** Environment to read KUBECONFIG / KUBERNETES_SERVICE_* from. */
  env?: NodeJS.ProcessEnv;
}

/** Where a pod's ServiceAccount token, CA and namespace are mounted. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
const TOKEN_FILE_TTL_MS = 60_000;

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

type Fields = Record<string, unknown>;

/** Which kubeconfig file, and where that choice came from (for messages). */
export interface KubeconfigChoice {
  file: string;
  origin: '--kubeconfig' | 'KUBECONFIG' | '~/.kube/config';
}

/**
 * The kubeconfig file to use, as kubectl finds it: the explicit path, else the first existing
 * entry of $KUBECONFIG (kubectl merges them; one file is enough here), else ~/.kube/config.
 * undefined when there is none (then: in-cluster, or an error). A named file that does not
 * exist is an error that names it.
 */
export function chooseKubeconfig(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv,
  exists: (file: string) => boolean = existsSync,
): KubeconfigChoice | undefined {
  if (explicit !== undefined) {
    if (!exists(explicit))
      throw new Error(`kubeconfig ${explicit} (from --kubeconfig): no such file`);
    return { file: explicit, origin: '--kubeconfig' };
  }
  if (env.KUBECONFIG) {
    const found = env.KUBECONFIG.split(path.delimiter)
      .filter((f) => f !== '')
      .find(exists);
    if (!found) throw new Error(`kubeconfig: no file of KUBECONFIG=${env.KUBECONFIG} exists`);
    return { file: found, origin: 'KUBECONFIG' };
  }
  const home = path.join(env.HOME ?? homedir(), '.kube', 'config');
  return exists(home) ? { file: home, origin: '~/.kube/config' } : undefined;
}

export function loadClusterAccess(options: LoadOptions = {}): ClusterAccess {
  const env = options.env ?? process.env;
  const choice = chooseKubeconfig(options.kubeconfig, env);
  if (choice) return fromKubeconfigFile(choice.file, options.context);
  if (env.KUBERNETES_SERVICE_HOST)
    return inCluster(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  throw new Error('no kubeconfig found (KUBECONFIG, ~/.kube/config) and not running in a cluster');
}

/** In-cluster: the pod's ServiceAccount token and CA, the API server from the service env. */
export function inCluster(env: NodeJS.ProcessEnv, dir = SERVICE_ACCOUNT_DIR): ClusterAccess {
  const host = env.KUBERNETES_SERVICE_HOST ?? '';
  const port = env.KUBERNETES_SERVICE_PORT ?? '443';
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const ca = readFileSync(path.join(dir, 'ca.crt'));
  const token = tokenFile(path.join(dir, 'token'));
  return {
    server: `https://${hostPart}:${port}`,
    tls: async () => ({ ca }),
    headers: async () => ({ authorization: `Bearer ${await token()}` }),
  };
}

export function fromKubeconfigFile(file: string, contextName?: string): ClusterAccess {
  const config = (parse(readFileSync(file, 'utf8')) ?? {}) as Fields;
  const base = path.dirname(path.resolve(file));
  const wanted = contextName ?? (config['current-context'] as string | undefined);
  if (!wanted) throw new Error(`${file}: no current-context`);
  const context = pick<Fields>(config.contexts, wanted, 'context', file).context ?? {};
  const cluster =
    pick<Fields>(config.clusters, String(context.cluster), 'cluster', file).cluster ?? {};
  const user = context.user
    ? (pick<Fields>(config.users, String(context.user), 'user', file).user ?? {})
    : {};
  if (user.exec || user['auth-provider']) {
    throw new Error(
      `${file}: user "${context.user}" uses an exec plugin or auth provider; load it with client-node's KubeConfig instead`,
    );
  }
  const server = String(cluster.server ?? '');
  if (!server) throw new Error(`${file}: cluster "${context.cluster}" has no server`);
  const material = (dataKey: string, fileKey: string, from: Fields): Buffer | undefined => {
    if (typeof from[dataKey] === 'string') return Buffer.from(from[dataKey] as string, 'base64');
    if (typeof from[fileKey] === 'string')
      return readFileSync(path.resolve(base, from[fileKey] as string));
    return undefined;
  };
  const tls: TlsMaterial = {
    ca: material('certificate-authority-data', 'certificate-authority', cluster),
    cert: material('client-certificate-data', 'client-certificate', user),
    key: material('client-key-data', 'client-key', user),
    ...(cluster['insecure-skip-tls-verify'] === true ? { rejectUnauthorized: false } : {}),
    ...(typeof cluster['tls-server-name'] === 'string'
      ? { servername: cluster['tls-server-name'] }
      : {}),
  };
  let headers: () => Promise<Record<string, string>> = async () => ({});
  if (typeof user.token === 'string') {
    const value = `Bearer ${user.token}`;
    headers = async () => ({ authorization: value });
  } else if (typeof user.tokenFile === 'string') {
    const token = tokenFile(path.resolve(base, user.tokenFile));
    headers = async () => ({ authorization: `Bearer ${await token()}` });
  } else if (typeof user.username === 'string') {
    const value = `Basic ${Buffer.from(`${user.username}:${String(user.password ?? '')}`).toString('base64')}`;
    headers = async () => ({ authorization: value });
  }
  return { server, tls: async () => tls, headers };
}

function pick<T>(list: unknown, name: string, what: string, file: string): Named<T> {
  const found = (Array.isArray(list) ? (list as Named<T>[]) : []).find(
    (entry) => entry?.name === name,
  );
  if (!found) throw new Error(`${file}: no ${what} named "${name}"`);
  return found;
}

/** Reads a token file, re-reading at most once a minute (projected tokens rotate). */
function tokenFile(file: string): () => Promise<string> {
  let cached: { value: string; until: number } | undefined;
  return async () => {
    const now = Date.now();
    if (!cached || cached.until <= now) {
      cached = { value: (await readFile(file, 'utf8')).trim(), until: now + TOKEN_FILE_TTL_MS };
    }
    return cached.value;
  };
}
