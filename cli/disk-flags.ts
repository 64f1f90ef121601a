/**
 * The flags that give an agent its named disks (docs/disks.md), on `galaxy agent` and `galaxy up`
 * alike: listed by hand (`--disks`), found under a directory of mounts (`--disks-from`), and the
 * media the kernel does not tell (`--disk-medium`).
 */
import type { Command } from 'commander';

/** Adds `--disks`, `--disks-from` and `--disk-medium` to `command`. */
export function addDiskFlags(command: Command): Command {
  return command
    .option(
      '--disks <list>',
      'named disks for volumes, name:path:medium:size,… (medium ssd, hdd or tmpfs; path an existing directory), e.g. "ssd1:/mnt/ssd1:ssd:100GiB" (docs/disks.md)',
    )
    .option(
      '--disks-from <dir>',
      "discover disks for volumes: every filesystem mounted directly under <dir> is a disk named after its mount point, its size the filesystem's (less 1%, 8MiB to 1GiB), its medium from the kernel; a directory that is not a mount point is skipped (docs/disks.md)",
    )
    .option(
      '--disk-medium <list>',
      'media of disks found by --disks-from, name:medium,… (ssd, hdd or tmpfs), where the kernel does not tell or is wrong, e.g. "ssd0:ssd"',
    );
}
