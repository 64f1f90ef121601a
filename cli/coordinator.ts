/**
 * `galaxy coordinator backup|restore`: Galaxy's durable state (users, grants, quotas, pools,
 * machines, frameworks, jobs, naming, the ledger) to a file and back, through any backend
 * (`core/coordinator/backup.ts`). Restore into an empty coordinator with every daemon stopped.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { backup, formatBackup, parseBackup, restore } from '../core/coordinator/backup.js';
import { DEFAULT_COORDINATOR, openCoordinator } from '../core/coordinator/index.js';
import { writeAtomic } from '../core/files.js';

/** Adds `galaxy coordinator backup|restore`. */
export function addCoordinatorCommands(program: Command): void {
  const coordinator = program
    .command('coordinator')
    .description("back up and restore Galaxy's durable state (users, grants, quotas, machines, jobs, naming, …)");
  const url = process.env.GALAXY_COORDINATOR ?? DEFAULT_COORDINATOR;
  coordinator
    .command('backup')
    .description(
      'write every durable key to a file (0600: it holds token hashes and job specs); elections are left out',
    )
    .option('--coordinator <url>', 'the coordinator (zk://…?secret=…, local:/dir)', url)
    .requiredOption('-o, --output <file>', 'where to write the backup (JSON lines)')
    .action(async (opts: { coordinator: string; output: string }) => {
      const opened = await openCoordinator(opts.coordinator);
      try {
        const taken = await backup(opened);
        await writeAtomic(opts.output, formatBackup(taken), { ownerOnly: true });
        console.error(`backed up ${taken.entries.length} keys of ${taken.source} to ${opts.output}`);
      } finally {
        await opened.close();
      }
    });
  coordinator
    .command('restore <file>')
    .description('write a backup into an empty coordinator (stop every daemon first)')
    .option('--coordinator <url>', 'the coordinator (zk://…?secret=…, local:/dir)', url)
    .option('--replace', 'also into a coordinator that holds state: what the backup lacks is deleted')
    .action(async (file: string, opts: { coordinator: string; replace?: boolean }) => {
      const taken = parseBackup(await readFile(file, 'utf8'), file);
      const opened = await openCoordinator(opts.coordinator);
      try {
        const written = await restore(opened, taken, { replace: opts.replace === true });
        console.error(
          `restored ${written} keys (backed up from ${taken.source} at ${taken.createdAt}) into ${opened.description}`,
        );
      } finally {
        await opened.close();
      }
    });
}
