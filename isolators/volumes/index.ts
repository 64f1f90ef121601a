/**
 * The `volumes` isolator: a task's volumes — tmpfs of a given size (charged to the container's
 * memory), or a bind mount of a host path, optionally read-only — become mounts of the
 * container's own root, made by the container's helper inside its mount namespace: nothing is
 * mounted on the host, so nothing needs unmounting after. A relative volume path is inside the
 * sandbox; an absolute one is that path in the container's root. Bind sources are checked by the
 * launcher against the agent's `--allowed-host-paths` (docs/security.md, "Host paths").
 */
import { Volume_Kind } from '../../proto/gen/galaxy/v1/common.js';
import { sharedIsolator, type Container, type Isolator } from '../isolator.js';
import { volumeTarget } from './target.js';

/**
 * The isolator. Every Linux container has it (the launcher adds it when `--isolation` does not
 * name it): a volume is part of the container, never silently left out.
 */
export const volumes: Isolator = {
  name: 'volumes',
  controllers: [],
  prepare(c: Container) {
    for (const volume of c.volumes) {
      const target = volumeTarget(c.sandbox, volume.path);
      // Disk volumes are the disk-volumes isolator's (it makes them first).
      if (volume.kind === Volume_Kind.DISK) continue;
      if (volume.kind === Volume_Kind.TMPFS) {
        c.mounts.push({ kind: 'tmpfs', target, readOnly: volume.readOnly, sizeBytes: volume.sizeBytes });
      } else {
        c.mounts.push({ kind: 'bind', target, source: volume.hostPath, readOnly: volume.readOnly });
      }
    }
    return Promise.resolve();
  },
};

/** The plugin. */
export const plugin = sharedIsolator(volumes);
export default plugin;
