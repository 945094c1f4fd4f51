/**
 * From the flags to a client: which kubeconfig, which context, which namespace.
 *
 * The kubeconfig is read by the runtime's light loader (no client-node import, which costs
 * ~45 MB and a slow start). Kubeconfigs whose user authenticates through an exec plugin
 * or an auth provider (EKS, GKE, OIDC logins…) are handed to client-node's KubeConfig,
 * which runs them — that path pays the import only when it is needed.
 *
 * As kubectl does, KUBECONFIG may list several files; kubectl merges them, llmplanctl uses
 * the first one that exists (say --kubeconfig for another).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { KubeClient } from '../runtime/client.js';
import type { ClusterAccess } from '../runtime/connection.js';
import {
  chooseKubeconfig as choose,
  fromKubeconfigFile,
  inCluster,
  type KubeconfigChoice,
  SERVICE_ACCOUNT_DIR,
} from '../runtime/kubeconfig.js';
import { type Connection, CtlError } from './errors.js';

export const FIELD_MANAGER = 'llmplanctl';

export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
}

/** What a kubeconfig says about one context, read without connecting. */
export interface ContextInfo {
  context: string;
  namespace?: string;
  server: string;
  /** The user authenticates through an exec plugin or auth provider (client-node runs those). */
  pluginAuth: boolean;
}

export interface Session extends Connection {
  client: KubeClient;
  /** The namespace commands act in. */
  namespace: string;
  close(): Promise<void>;
}

/** The runtime's choice of kubeconfig file (flag, KUBECONFIG, ~/.kube/config), as a CtlError when it fails. */
export function chooseKubeconfig(
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
  exists?: (file: string) => boolean,
): KubeconfigChoice | undefined {
  try {
    return choose(flag, env, exists);
  } catch (err) {
    throw new CtlError(err instanceof Error ? err.message : String(err));
  }
}

/** Reads the chosen context of a kubeconfig file: its namespace, server and kind of auth. */
export function readContext(file: string, contextName?: string): ContextInfo {
  const fail = (why: string) => new CtlError(`kubeconfig ${file}: ${why}`);
  let config: unknown;
  try {
    config = parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw fail(`cannot be read as YAML: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw fail('is not a kubeconfig (expected a YAML mapping with clusters, users and contexts)');
  }
  const root = config as Record<string, unknown>;
  const context = contextName ?? stringField(root, 'current-context');
  if (!context) throw fail('has no current-context; pass --context');
  const contextEntry = named(root.contexts, context, 'context');
  if (!contextEntry) {
    const known = names(root.contexts);
    throw fail(
      `no context named "${context}"${known.length ? ` (known: ${known.join(', ')})` : ''}`,
    );
  }
  const clusterName = stringField(contextEntry, 'cluster');
  const cluster = clusterName ? named(root.clusters, clusterName, 'cluster') : undefined;
  const server = cluster ? stringField(cluster, 'server') : undefined;
  if (!server) throw fail(`context "${context}" has no cluster with a server`);
  const userName = stringField(contextEntry, 'user');
  const user = userName ? named(root.users, userName, 'user') : undefined;
  const namespace = stringField(contextEntry, 'namespace');
  return {
    context,
    server,
    pluginAuth: Boolean(user && (user.exec || user['auth-provider'])),
    ...(namespace ? { namespace } : {}),
  };
}

/** Connects as the flags and environment say; the caller closes the session. */
export async function connect(
  options: ConnectOptions,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Session> {
  const choice = chooseKubeconfig(options.kubeconfig, env);
  if (!choice) {
    if (env.KUBERNETES_SERVICE_HOST) return inClusterSession(options, env);
    throw new CtlError(
      'no kubeconfig: pass --kubeconfig, set KUBECONFIG, or create ~/.kube/config',
    );
  }
  const info = readContext(choice.file, options.context);
  const source = `${choice.file} (from ${choice.origin})`;
  let access: ClusterAccess | KubeConfig;
  try {
    access = info.pluginAuth
      ? await clientNodeConfig(choice.file, info.context)
      : fromKubeconfigFile(choice.file, info.context);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CtlError(
      why.startsWith(choice.file) ? `kubeconfig ${why}` : `kubeconfig ${choice.file}: ${why}`,
    );
  }
  return session(access, {
    server: info.server,
    source,
    context: info.context,
    namespace: options.namespace ?? info.namespace ?? 'default',
  });
}

async function clientNodeConfig(file: string, context: string): Promise<KubeConfig> {
  const clientNode = await import('@kubernetes/client-node');
  const config = new clientNode.KubeConfig();
  config.loadFromFile(file);
  config.setCurrentContext(context);
  return config;
}

function inClusterSession(options: ConnectOptions, env: NodeJS.ProcessEnv): Session {
  let access: ClusterAccess;
  try {
    access = inCluster(env);
  } catch (err) {
    throw new CtlError(
      `no kubeconfig, and the in-cluster service account cannot be read: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const namespaceFile = path.join(SERVICE_ACCOUNT_DIR, 'namespace');
  const podNamespace = existsSync(namespaceFile)
    ? readFileSync(namespaceFile, 'utf8').trim()
    : undefined;
  return session(access, {
    server: access.server,
    source: 'the in-cluster service account',
    namespace: options.namespace ?? podNamespace ?? 'default',
  });
}

function session(
  access: ClusterAccess | KubeConfig,
  details: { server: string; source: string; context?: string; namespace: string },
): Session {
  // A CLI waits for one answer at a time: a short timeout and few retries keep it responsive.
  const client = new KubeClient(access, {
    fieldManager: FIELD_MANAGER,
    userAgent: 'llmplanctl',
    timeoutMs: 30_000,
    maxRetries: 2,
  });
  return { ...details, client, close: () => client.close() };
}

function stringField(object: Record<string, unknown>, key: string): string | undefined {
  const value = object[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The inner map of a kubeconfig list entry `{name, <field>: {...}}`. */
function named(list: unknown, name: string, field: string): Record<string, unknown> | undefined {
  if (!Array.isArray(list)) return undefined;
  for (const entry of list as unknown[]) {
    if (
      entry !== null &&
      typeof entry === 'object' &&
      (entry as { name?: unknown }).name === name
    ) {
      const inner = (entry as Record<string, unknown>)[field];
      return inner !== null && typeof inner === 'object' ? (inner as Record<string, unknown>) : {};
    }
  }
  return undefined;
}

function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  return (list as unknown[])
    .map((entry) =>
      entry !== null && typeof entry === 'object' ? (entry as { name?: unknown }).name : undefined,
    )
    .filter((name): name is string => typeof name === 'string');
}
