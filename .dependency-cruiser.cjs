/**
 * Galaxy's layering, checked by `npm run lint` (dependency-cruiser). The layers, lowest first:
 *
 *   proto/gen, core  →  isolators, allocators  →  agent, master, frameworks  →  cli, bench, examples
 *
 * A module may import its own layer or a lower one, never a higher one; no import cycle anywhere
 * (type-only imports count: a cycle of types is a cycle of design); product code never imports
 * from `test/`. Tests (`*.test.ts`, `test/`) may import anything but `test/` from product code.
 */
const TEST = '(^test/|\\.test\\.ts$)';

/** A rule refusing imports from `from` (product code only) to any of `to`. */
function upward(name, from, to, why) {
  return {
    name,
    comment: why,
    severity: 'error',
    from: { path: from, pathNot: TEST },
    to: { path: to },
  };
}

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'An import cycle: modules that cannot be understood, tested or loaded one without the other.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    upward(
      'product-imports-test',
      '^(core|isolators|allocators|agent|master|frameworks|cli|bench|examples)/',
      '^test/',
      'Product code (shipped in dist/) never imports test code, which is not shipped.',
    ),
    upward(
      'core-is-the-bottom',
      '^core/',
      '^(isolators|allocators|agent|master|frameworks|cli|bench|examples)/',
      'core/ is what every host shares: it depends on no host.',
    ),
    upward(
      'plugin-interfaces-below-hosts',
      '^(isolators|allocators)/',
      '^(agent|master|frameworks|cli|bench|examples)/',
      'Isolators and allocators are plugins of the agent and the master: they see the host through their interface only (the cgroup driver lives beside the isolator interface).',
    ),
    upward(
      'isolators-and-allocators-apart',
      '^isolators/',
      '^allocators/',
      'Two plugin kinds of two hosts: neither knows the other.',
    ),
    upward(
      'allocators-and-isolators-apart',
      '^allocators/',
      '^isolators/',
      'Two plugin kinds of two hosts: neither knows the other.',
    ),
    upward(
      'agent-is-not-master',
      '^agent/',
      '^(master|frameworks|cli|bench|examples)/',
      'The agent talks to the master over gRPC only; it imports no other host.',
    ),
    upward(
      'master-is-not-agent',
      '^master/',
      '^(agent|isolators|frameworks|cli|bench|examples)/',
      'The master talks to agents and frameworks over gRPC only; it imports no other host.',
    ),
    upward(
      'frameworks-above-the-sdk',
      '^frameworks/',
      '^(agent|isolators|cli|bench|examples)/',
      'Frameworks reach the cluster through the SDK (and the master only for shared pure rules).',
    ),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
