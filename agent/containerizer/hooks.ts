/**
 * The containerizer's extension points: the isolator lifecycle as tapable hooks. Each isolator
 * taps them (prepare in order, isolate in parallel, cleanup in reverse order); any other agent
 * plugin can tap them too.
 */
import { AsyncParallelHook, AsyncSeriesHook } from 'tapable';
import type { Container } from '../../isolators/isolator.js';
import type { Isolator } from '../../isolators/isolator.js';

/** Creates the containerizer's frozen hooks. */
export function createContainerizerHooks() {
  return Object.freeze({
    /** Before the first process starts: set limits, create volumes. A rejection fails the launch. */
    prepare: new AsyncSeriesHook<[Container]>(['container']),
    /** Once the first process runs (inside the cgroups already). */
    isolate: new AsyncParallelHook<[Container, number]>(['container', 'pid']),
    /** After every process of the container is gone. */
    cleanup: new AsyncSeriesHook<[Container]>(['container']),
  });
}

/** The containerizer's hooks. */
export type ContainerizerHooks = ReturnType<typeof createContainerizerHooks>;

/** Taps the isolators' lifecycle methods onto the hooks. */
export function tapIsolators(hooks: ContainerizerHooks, isolators: readonly Isolator[]): void {
  for (const isolator of isolators) {
    if (isolator.prepare) hooks.prepare.tapPromise(isolator.name, (c) => isolator.prepare?.(c) ?? Promise.resolve());
    if (isolator.isolate)
      hooks.isolate.tapPromise(isolator.name, (c, pid) => isolator.isolate?.(c, pid) ?? Promise.resolve());
  }
  for (const isolator of [...isolators].reverse()) {
    if (isolator.cleanup) hooks.cleanup.tapPromise(isolator.name, (c) => isolator.cleanup?.(c) ?? Promise.resolve());
  }
}
