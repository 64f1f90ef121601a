/**
 * `galaxy volume list` and `galaxy volume destroy`: the persistent disk volumes of service jobs'
 * pods, on the AppMaster (docs/disks.md).
 */
import type { Command } from 'commander';
import { formatBytes } from '../core/resources.js';
import { VolumesInfo } from '../proto/gen/galaxy/v1/appmaster.js';
import { withApi, withAppMasterFlags } from './job.js';
import { parseOutputFormat, render, type Column } from './output.js';

/** Columns of `galaxy volume list`. */
export const VOLUME_COLUMNS: Column<VolumesInfo>[] = [
  { heading: 'JOB', value: (v) => v.job },
  { heading: 'POD', value: (v) => v.podId },
  { heading: 'VOLUME', value: (v) => v.volume },
  { heading: 'HOST', value: (v) => v.hostname || v.agentId || '-' },
  { heading: 'AGENT', value: (v) => v.agentId || '-', wide: true },
  { heading: 'DISK', value: (v) => v.disk },
  { heading: 'MEDIUM', value: (v) => v.medium || '-' },
  { heading: 'SIZE', value: (v) => (v.sizeBytes > 0 ? formatBytes(v.sizeBytes) : '-') },
  { heading: 'STATE', value: (v) => v.state },
];

interface Flags {
  appmaster?: string;
  coordinator?: string;
  output: string;
}

/** Adds `galaxy volume …`. */
export function addVolumeCommands(program: Command): void {
  const volume = program.command('volume').description("persistent disk volumes of service jobs' pods");

  withAppMasterFlags(volume.command('list'))
    .description('the persistent volumes of your jobs: where each is, its size and whether a container has it')
    .option('--job <name>', 'only this job')
    .action(async (flags: Flags & { job?: string }) => {
      const volumes = await withApi(flags, (api) =>
        api.call((a) => a.volumesList({ job: flags.job ?? '' }).then((r) => r.volumes), { repeatable: true }),
      );
      console.log(render(volumes, VOLUME_COLUMNS, parseOutputFormat(flags.output), VolumesInfo));
    });

  withAppMasterFlags(volume.command('destroy'))
    .description("delete a pod's persistent volume and its data (its next container gets an empty one)")
    .argument('<job>')
    .argument('<pod>')
    .argument('<volume>')
    .option('--force', 'the pod is running: delete the volume when its container ends (otherwise refused)')
    .action(async (job: string, pod: string, name: string, flags: Flags & { force?: boolean }) => {
      const info = await withApi(flags, (api) =>
        api.call((a) => a.volumesDestroy({ job, podId: pod, volume: name, force: flags.force === true })),
      );
      const format = parseOutputFormat(flags.output);
      if (format === 'table')
        console.log(`volume ${info.volume} of pod ${info.podId} (job ${info.job}): ${info.state}`);
      else console.log(render([info], VOLUME_COLUMNS, format, VolumesInfo));
    });
}
