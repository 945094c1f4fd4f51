import type { V1Container, V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_IMAGE,
  summarizerService,
  TEST_UID,
} from '../../test/support/fixtures/summarizer-service.js';
import type { DesiredObject } from './children.js';
import { podTemplateHash } from './hash.js';
import { type DesiredOptions, desiredState, effectiveReplicas } from './state.js';

const options: DesiredOptions = { defaultImage: DEFAULT_IMAGE };

function find(objects: DesiredObject[], kind: string, name = 'llmplan'): DesiredObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name);
}
function deploymentOf(objects: DesiredObject[]): V1Deployment {
  const d = find(objects, 'Deployment');
  if (!d) throw new Error('no Deployment');
  return d as V1Deployment;
}
function containerOf(template: V1PodTemplateSpec | undefined): V1Container {
  const c = template?.spec?.containers[0];
  if (!c) throw new Error('no container');
  return c;
}

describe('desiredState: the default resource', () => {
  const cr = summarizerService();
  const { objects } = desiredState(cr, options);

  it('owns the children of docs/resource.md, dependencies first, nothing optional', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      'ServiceAccount/llmplan',
      'ConfigMap/llmplan-config',
      'Service/llmplan',
      'Deployment/llmplan',
    ]);
  });

  it('gives every child a controller owner reference, the standard labels, and no status', () => {
    for (const o of objects) {
      expect(o.metadata.namespace).toBe('llmplan-dev');
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'llmplan.io/v1alpha1',
          kind: 'SummarizerService',
          name: 'llmplan',
          uid: TEST_UID,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(o.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'llmplan',
        'app.kubernetes.io/instance': 'llmplan',
        'app.kubernetes.io/managed-by': 'llmplan-operator',
      });
      expect(o).not.toHaveProperty('status');
    }
  });

  it("writes the service's variables (docs/api.md) but the API key into the ConfigMap", () => {
    expect(find(objects, 'ConfigMap', 'llmplan-config')?.data).toEqual({
      PORT: '8000',
      LMSTUDIO_BASE_URL: 'http://lmstudio:1234/v1',
      LMSTUDIO_TIMEOUT: '30',
      LMSTUDIO_MAX_RETRIES: '3',
      DEFAULT_MODEL_NAME: 'qwen/qwen3-4b',
      DEFAULT_MAX_TOKENS: '1000',
      DEFAULT_TEMPERATURE: '0.3',
      DEFAULT_SUMMARY_TYPE: 'concise',
      DEFAULT_LANGUAGE: 'korean',
      DEBUG: 'false',
    });
  });

  it('exposes port 8000 as http through a Service selecting name+instance', () => {
    expect(find(objects, 'Service')?.spec).toEqual({
      type: 'ClusterIP',
      selector: { 'app.kubernetes.io/name': 'llmplan', 'app.kubernetes.io/instance': 'llmplan' },
      ports: [{ name: 'http', port: 8000, targetPort: 'http', protocol: 'TCP' }],
    });
  });

  it('gives the ServiceAccount no token', () => {
    expect(find(objects, 'ServiceAccount')?.automountServiceAccountToken).toBe(false);
  });

  it('rolls the Deployment with surge only, the spec deadline and history limit', () => {
    const { spec, metadata } = deploymentOf(objects);
    expect(spec?.replicas).toBe(1);
    // Autoscaling off: the operator sets the count, and says so (replicas.ts).
    expect(metadata?.annotations?.['llmplan.io/replicas-owner']).toBe('llmplan-operator');
    expect(spec?.selector).toEqual({
      matchLabels: { 'app.kubernetes.io/name': 'llmplan', 'app.kubernetes.io/instance': 'llmplan' },
    });
    expect(spec?.strategy).toEqual({
      type: 'RollingUpdate',
      rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 },
    });
    expect(spec?.progressDeadlineSeconds).toBe(600);
    expect(spec?.revisionHistoryLimit).toBe(10);
  });

  it('builds a hardened pod template with probes on the service endpoints', () => {
    const template = deploymentOf(objects).spec?.template;
    const pod = template?.spec;
    const c = containerOf(template);
    expect(c.name).toBe('summarizer');
    expect(c.image).toBe(DEFAULT_IMAGE);
    expect(c.imagePullPolicy).toBe('IfNotPresent');
    expect(c.ports).toEqual([{ name: 'http', containerPort: 8000, protocol: 'TCP' }]);
    expect(c.envFrom).toEqual([{ configMapRef: { name: 'llmplan-config' } }]);
    expect(c.env).toBeUndefined();
    expect(c.resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '1000m', memory: '1Gi' },
    });
    expect(c.livenessProbe?.httpGet).toEqual({ path: '/livez', port: 'http' });
    expect(c.readinessProbe?.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.startupProbe?.httpGet).toEqual({ path: '/livez', port: 'http' });
    expect(c.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
    });
    expect(c.volumeMounts).toEqual([{ name: 'tmp', mountPath: '/tmp' }]);
    expect(pod?.volumes).toEqual([{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }]);
    expect(pod?.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      runAsGroup: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod?.serviceAccountName).toBe('llmplan');
    expect(pod?.automountServiceAccountToken).toBe(false);
    expect(pod?.terminationGracePeriodSeconds).toBe(40);
    expect(pod).not.toHaveProperty('nodeSelector');
    expect(pod).not.toHaveProperty('tolerations');
    expect(pod).not.toHaveProperty('affinity');
    expect(template?.metadata?.annotations?.['llmplan.io/config-hash']).toMatch(/^[0-9a-f]{10}$/);
  });
});

describe('desiredState: spec areas', () => {
  it('passes the API key from the Secret and appends spec.env after it', () => {
    const cr = summarizerService({
      lmstudio: { apiKeySecretRef: { name: 'lmstudio', key: 'token' } },
      env: [
        { name: 'LOG_FORMAT', value: 'json' },
        { name: 'X', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      ],
    });
    const c = containerOf(deploymentOf(desiredState(cr, options).objects).spec?.template);
    expect(c.env).toEqual([
      { name: 'LMSTUDIO_API_KEY', valueFrom: { secretKeyRef: { name: 'lmstudio', key: 'token' } } },
      { name: 'LOG_FORMAT', value: 'json' },
      { name: 'X', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ]);
  });

  it('rolls pods on a config change, but not on a Service change', () => {
    const base = desiredState(summarizerService(), options);
    const config = desiredState(
      summarizerService({ summary: { defaultLanguage: 'english' } }),
      options,
    );
    const port = desiredState(summarizerService({ service: { port: 80 } }), options);
    const hash = (s: typeof base) =>
      deploymentOf(s.objects).spec?.template.metadata?.annotations?.['llmplan.io/config-hash'];
    expect(hash(config)).not.toBe(hash(base));
    expect(config.specRevision).not.toBe(base.specRevision);
    expect(port.specRevision).toBe(base.specRevision);
    expect(find(port.objects, 'Service')?.spec).toMatchObject({
      ports: [{ port: 80, targetPort: 'http' }],
    });
  });

  it('carries scheduling fields and pod labels/annotations, without Argo CD tracking keys', () => {
    const cr = summarizerService(
      {
        podLabels: { team: 'ml', 'argocd.argoproj.io/instance': 'x' },
        podAnnotations: {
          'prometheus.io/scrape': 'true',
          'argocd.argoproj.io/tracking-id': 'app:x',
        },
        nodeSelector: { pool: 'cpu' },
        tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'ml', effect: 'NoSchedule' }],
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] },
          },
        },
      },
      {
        labels: { 'app.kubernetes.io/instance': 'llmplan-prod', team: 'x' },
        annotations: {
          'argocd.argoproj.io/tracking-id': 'llmplan-prod:llmplan.io/SummarizerService:ns/llmplan',
        },
      },
    );
    const { objects } = desiredState(cr, options);
    const template = deploymentOf(objects).spec?.template;
    expect(template?.metadata?.labels).toEqual({
      team: 'ml',
      'app.kubernetes.io/name': 'llmplan',
      'app.kubernetes.io/instance': 'llmplan',
      'app.kubernetes.io/managed-by': 'llmplan-operator',
      'app.kubernetes.io/component': 'summarizer',
    });
    expect(Object.keys(template?.metadata?.annotations ?? {})).toEqual([
      'prometheus.io/scrape',
      'llmplan.io/config-hash',
    ]);
    expect(template?.spec?.nodeSelector).toEqual({ pool: 'cpu' });
    expect(template?.spec?.tolerations).toHaveLength(1);
    expect(template?.spec?.affinity).toHaveProperty('nodeAffinity');
    for (const o of objects) {
      expect(JSON.stringify(o.metadata)).not.toContain('argocd.argoproj.io');
      expect(o.metadata.labels['app.kubernetes.io/instance']).toBe('llmplan');
      expect(o.metadata.labels).not.toHaveProperty('team');
    }
  });

  it('hands the replica count to an HPA while autoscaling, with CPU and memory targets', () => {
    const cr = summarizerService({
      replicas: 3,
      autoscaling: {
        enabled: true,
        minReplicas: 3,
        maxReplicas: 20,
        targetMemoryUtilizationPercentage: 70,
      },
    });
    const { objects, autoscalingMinReplicas } = desiredState(cr, options);
    const deployment = deploymentOf(objects);
    expect(deployment.spec).not.toHaveProperty('replicas');
    // The handover manager sets both (replicas.ts); the Deployment starts at the minimum.
    expect(deployment.metadata?.annotations).not.toHaveProperty('llmplan.io/replicas-owner');
    expect(autoscalingMinReplicas).toBe(3);
    expect(find(objects, 'HorizontalPodAutoscaler')).toMatchObject({
      apiVersion: 'autoscaling/v2',
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'llmplan' },
        minReplicas: 3,
        maxReplicas: 20,
        metrics: [
          {
            type: 'Resource',
            resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } },
          },
          {
            type: 'Resource',
            resource: { name: 'memory', target: { type: 'Utilization', averageUtilization: 70 } },
          },
        ],
      },
    });
  });

  it('adds a PDB only when more than one replica can run', () => {
    const kinds = (spec: Parameters<typeof summarizerService>[0]) =>
      desiredState(summarizerService(spec), options).objects.map((o) => o.kind);
    expect(kinds({ replicas: 1 })).not.toContain('PodDisruptionBudget');
    expect(kinds({ replicas: 2 })).toContain('PodDisruptionBudget');
    expect(kinds({ autoscaling: { enabled: true, minReplicas: 1, maxReplicas: 1 } })).not.toContain(
      'PodDisruptionBudget',
    );
    expect(kinds({ autoscaling: { enabled: true, minReplicas: 1, maxReplicas: 4 } })).toContain(
      'PodDisruptionBudget',
    );
    const pdb = find(
      desiredState(summarizerService({ replicas: 3 }), options).objects,
      'PodDisruptionBudget',
    );
    expect(pdb?.spec).toEqual({
      maxUnavailable: 1,
      selector: {
        matchLabels: {
          'app.kubernetes.io/name': 'llmplan',
          'app.kubernetes.io/instance': 'llmplan',
        },
      },
      unhealthyPodEvictionPolicy: 'AlwaysAllow',
    });
  });

  it('creates the Ingress only while enabled, routing to the http port', () => {
    expect(find(desiredState(summarizerService(), options).objects, 'Ingress')).toBeUndefined();
    const cr = summarizerService({
      ingress: {
        enabled: true,
        className: 'nginx',
        annotations: { 'cert-manager.io/cluster-issuer': 'letsencrypt' },
        hosts: [{ host: 'llmplan.company.com', paths: [{ path: '/api', pathType: 'Prefix' }] }],
        tls: [{ secretName: 'llmplan-tls', hosts: ['llmplan.company.com'] }],
      },
    });
    const ingress = find(desiredState(cr, options).objects, 'Ingress');
    expect(ingress?.metadata.annotations).toEqual({
      'cert-manager.io/cluster-issuer': 'letsencrypt',
    });
    expect(ingress?.spec).toEqual({
      ingressClassName: 'nginx',
      rules: [
        {
          host: 'llmplan.company.com',
          http: {
            paths: [
              {
                path: '/api',
                pathType: 'Prefix',
                backend: { service: { name: 'llmplan', port: { name: 'http' } } },
              },
            ],
          },
        },
      ],
      tls: [{ secretName: 'llmplan-tls', hosts: ['llmplan.company.com'] }],
    });
    const defaultClass = find(
      desiredState(summarizerService({ ingress: { enabled: true } }), options).objects,
      'Ingress',
    );
    expect(defaultClass?.spec).not.toHaveProperty('ingressClassName');
    expect(defaultClass?.metadata).not.toHaveProperty('annotations');
  });

  it('points an ExternalName Service at LM Studio only while externalName is set', () => {
    expect(
      find(desiredState(summarizerService(), options).objects, 'Service', 'lmstudio'),
    ).toBeUndefined();
    const cr = summarizerService({
      lmstudio: { externalName: 'lmstudio.internal.company.com.', port: 1234 },
    });
    const { objects } = desiredState(cr, options);
    const backend = find(objects, 'Service', 'lmstudio');
    expect(backend?.spec).toEqual({
      type: 'ExternalName',
      externalName: 'lmstudio.internal.company.com',
      ports: [{ name: 'http', port: 1234, protocol: 'TCP' }],
    });
    expect(backend?.metadata.labels['app.kubernetes.io/component']).toBe('lmstudio-backend');
    expect(objects.indexOf(backend!)).toBeLessThan(
      objects.findIndex((o) => o.kind === 'Deployment'),
    );
  });

  it('resolves the image from spec and the operator default', () => {
    const image = (img: Parameters<typeof summarizerService>[0], def = DEFAULT_IMAGE) =>
      containerOf(
        deploymentOf(desiredState(summarizerService(img), { defaultImage: def }).objects).spec
          ?.template,
      ).image;
    expect(image({ image: { tag: 'main' } })).toBe('ghcr.io/llmplan/summarizer:main');
    expect(image({ image: { repository: 'registry.local:5000/llmplan' } })).toBe(
      'registry.local:5000/llmplan:v0.1.0',
    );
    expect(image({ image: { repository: 'r/x', tag: 'v2' } })).toBe('r/x:v2');
    expect(image({}, 'localhost:5000/s@sha256:abc')).toBe('localhost:5000/s@sha256:abc');
    expect(image({ image: { tag: 'v3' } }, 'localhost:5000/s@sha256:abc')).toBe(
      'localhost:5000/s:v3',
    );
    expect(image({ image: { repository: 'r/y' } }, 'localhost:5000/s')).toBe('r/y:latest');
  });

  it('refuses a resource without uid (not yet created)', () => {
    expect(() => desiredState(summarizerService({}, { uid: undefined }), options)).toThrow(
      /no uid/,
    );
  });
});

describe('desiredState: remediation overrides', () => {
  it('serves a rollback template with its config, leaving the spec revision alone', () => {
    const old = desiredState(summarizerService({ image: { tag: 'v1' } }), options);
    const current = summarizerService({ image: { tag: 'v2' }, summary: { defaultModel: 'other' } });
    const rolled = desiredState(current, {
      ...options,
      overrides: { podTemplate: old.specPodTemplate, configData: old.specConfigData },
    });
    const d = deploymentOf(rolled.objects);
    expect(containerOf(d.spec?.template).image).toBe('ghcr.io/llmplan/summarizer:v1');
    expect(rolled.servedRevision).toBe(old.specRevision);
    expect(rolled.specRevision).toBe(desiredState(current, options).specRevision);
    expect(d.metadata?.annotations?.['llmplan.io/revision']).toBe(old.specRevision);
    expect(find(rolled.objects, 'ConfigMap', 'llmplan-config')?.data).toEqual(old.specConfigData);
  });

  it('raises the memory limit, and the request only if it would exceed the limit', () => {
    const bumped = desiredState(summarizerService(), {
      ...options,
      overrides: { memoryLimit: '1536Mi' },
    });
    const d = deploymentOf(bumped.objects);
    expect(containerOf(d.spec?.template).resources).toEqual({
      requests: { cpu: '500m', memory: '512Mi' },
      limits: { cpu: '1000m', memory: '1536Mi' },
    });
    expect(d.metadata?.annotations?.['llmplan.io/template-hash']).not.toBe(bumped.specRevision);
    expect(d.metadata?.annotations?.['llmplan.io/revision']).toBe(bumped.specRevision);
    const lower = desiredState(summarizerService(), {
      ...options,
      overrides: { memoryLimit: '256Mi' },
    });
    expect(
      containerOf(deploymentOf(lower.objects).spec?.template).resources?.requests?.memory,
    ).toBe('256Mi');
  });

  it('raises replicas (never lowers them) and the HPA floor (never above max)', () => {
    expect(effectiveReplicas(summarizerService({ replicas: 2 }), { replicas: 5 })).toEqual({
      autoscaling: false,
      replicas: 5,
    });
    expect(effectiveReplicas(summarizerService({ replicas: 8 }), { replicas: 5 })).toEqual({
      autoscaling: false,
      replicas: 8,
    });
    const hpa = summarizerService({
      autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 4 },
    });
    expect(effectiveReplicas(hpa, { replicas: 5 })).toEqual({
      autoscaling: true,
      minReplicas: 4,
      maxReplicas: 4,
    });
    expect(
      desiredState(hpa, { ...options, overrides: { replicas: 5 } }).autoscalingMinReplicas,
    ).toBe(4);
    const { objects } = desiredState(summarizerService({ replicas: 1 }), {
      ...options,
      overrides: { replicas: 5 },
    });
    expect(deploymentOf(objects).spec?.replicas).toBe(5);
    expect(find(objects, 'PodDisruptionBudget')).toBeDefined();
  });
});

describe('determinism', () => {
  it('gives equal output for equal input, and hashes templates independently of key order', () => {
    const a = desiredState(summarizerService({ replicas: 2 }), options);
    const b = desiredState(summarizerService({ replicas: 2 }), options);
    expect(a).toEqual(b);
    const template = a.specPodTemplate;
    const reordered = JSON.parse(
      JSON.stringify({ spec: template.spec, metadata: template.metadata }),
    );
    expect(podTemplateHash(reordered)).toBe(podTemplateHash(template));
  });
});
