/**
 * Helm 3 releases as Helm's default storage driver keeps them, read without a helm binary:
 * one Secret per revision, `sh.helm.release.v1.<release>.v<N>` of type `helm.sh/release.v1`,
 * labelled `owner=helm, name=<release>, status=…, version=N`, whose `data.release` is the
 * base64 (Secret encoding) of the base64 of the gzip of the release as JSON: `config` holds
 * the values the user supplied, `chart.values` the chart's defaults, `manifest` the objects.
 * Pure: decoding, the merge of values Helm renders with, and the objects of the manifest.
 */
import { gunzipSync } from 'node:zlib';
import { parseAllDocuments } from 'yaml';

export const RELEASE_SECRET_TYPE = 'helm.sh/release.v1';
/** Label Helm selects its release Secrets by (`owner=helm`). */
export const HELM_OWNER_LABEL = 'owner';
export const HELM_OWNER = 'helm';
/** Annotations Helm 3 puts on every object of a release (its ownership check). */
export const HELM_RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name';
export const HELM_RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';

export type Values = Record<string, unknown>;

export interface HelmRelease {
  name: string;
  namespace: string;
  version: number;
  info: { status: string; last_deployed?: string; description?: string };
  chart: { metadata: { name: string; version: string; appVersion?: string }; values?: Values };
  /** The values the user supplied (`--set`, `-f`); null or absent when none. */
  config?: Values | null;
  manifest: string;
}

/** One object of a release's manifest. */
export interface ManifestObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [field: string]: unknown };
  [field: string]: unknown;
}

export function releaseSecretName(release: string, version: number): string {
  return `sh.helm.release.v1.${release}.v${version}`;
}

const GZIP_MAGIC = Buffer.from([0x1f, 0x8b]);

/** The release in a Secret's `data.release` (as the API returns it: base64). */
export function decodeRelease(secretData: string): HelmRelease {
  const helmEncoded = Buffer.from(secretData, 'base64').toString('utf8');
  const raw = Buffer.from(helmEncoded, 'base64');
  // Helm reads uncompressed records too (very old releases were stored that way).
  const json = raw.subarray(0, 2).equals(GZIP_MAGIC) ? gunzipSync(raw) : raw;
  const release = JSON.parse(json.toString('utf8')) as HelmRelease;
  if (typeof release?.name !== 'string' || typeof release.chart?.metadata?.name !== 'string') {
    throw new Error('not a Helm release record (no name or chart)');
  }
  return release;
}

const isMap = (value: unknown): value is Values =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * The values the templates saw: the user's over the chart's defaults, maps merged key by
 * key, everything else (lists included) replaced, and a null removing the key — Helm's
 * CoalesceValues.
 */
export function coalesceValues(defaults: Values, overrides: Values | null | undefined): Values {
  const out: Values = { ...defaults };
  for (const [key, value] of Object.entries(overrides ?? {})) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = coalesceValues(out[key], value);
    else out[key] = value;
  }
  return out;
}

export function effectiveValues(release: HelmRelease): Values {
  return coalesceValues(release.chart.values ?? {}, release.config);
}

/** The objects of the manifest, in its order; empty documents (a disabled template) skipped. */
export function manifestObjects(manifest: string): ManifestObject[] {
  return parseAllDocuments(manifest)
    .map((doc) => doc.toJS() as unknown)
    .filter(
      (o): o is ManifestObject =>
        isMap(o) && typeof o.kind === 'string' && isMap(o.metadata) && !!o.metadata.name,
    );
}
