// The repository's layers, checked by `npm run lint` (dependency-cruiser). Each floor may
// import from its own folder and from the floors below it, never from a floor above or a
// sibling on the same floor: every arrow points down, so no folder imports a folder that
// imports it. Tests (*.test.ts and their *.test-helpers.ts) may reach across floors.
const floors = [
  // The contract between the operator and the service: env variables, metric names.
  ['contract'],
  // The summarizer service: depends on the contract only, never on the operator.
  ['service'],
  // The operator, bottom up: the generic controller runtime; the resource's API types;
  // spec → desired objects; observed → status; the pods' load and resource advice;
  // remediation; the reconciler; the CLI and the operator's entry point.
  ['operator/runtime'],
  ['operator/api'],
  ['operator/desired'],
  ['operator/status'],
  ['operator/load', 'operator/advice'],
  ['operator/remediation'],
  ['operator/reconcile'],
  ['operator/config.ts'],
  ['operator/ctl', 'operator/main.ts'],
];

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const pattern = (folders) => `^(${folders.map(escapeRegExp).join('|')})(/|$)`;
const tests = '\\.test(-helpers)?\\.ts$';

const layerRules = floors.flatMap((floor, i) =>
  floor.map((folder) => {
    const allowed = [...floors.slice(0, i).flat(), folder];
    const forbidden = floors.flat().filter((f) => !allowed.includes(f));
    return {
      name: `layers:${folder}`,
      comment: `${folder} may import only itself and ${floors.slice(0, i).flat().join(', ') || 'nothing of the project'} (see .dependency-cruiser.cjs)`,
      severity: 'error',
      from: { path: pattern([folder]), pathNot: tests },
      to: { path: pattern(forbidden) },
    };
  }),
);

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular',
      comment: 'A module must not import itself through others.',
      severity: 'error',
      from: { pathNot: tests },
      to: { circular: true },
    },
    {
      name: 'not-to-test',
      comment: 'Production code must not import test code.',
      severity: 'error',
      from: { path: pattern(['contract', 'service', 'operator']), pathNot: tests },
      to: { path: `^test/|${tests}` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
