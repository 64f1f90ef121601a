/**
 * `galaxy grant`, `galaxy grant role`, `galaxy grant act-for-users`, `galaxy grants`,
 * `galaxy quota set|show`: authorities, roles and quotas (docs/tenancy.md, docs/security.md).
 * Changes are for admins; any user may read their own.
 */
import type { Command } from 'commander';
import { GalaxyError } from '../core/errors.js';
import { parseSize } from '../core/sizes.js';
import { isDiskMedium } from '../core/disks.js';
import { formatQuantity, GUARANTEE_RESOURCES, QUOTA_RESOURCES, type QuotaResource } from '../core/tenancy/quotas.js';
import type { QuotaAmounts, UserGrantsEntry, UserQuotaEntry } from '../proto/gen/galaxy/v1/operator.js';
import { addListCommand, masterOption, OUTPUT_OPTION, withOperator } from './list-command.js';
import { parseOutputFormat, render, serialize, type Column } from './output.js';

/** Cores as typed (`4`, `0.5`, `500m`) → millicores. */
export function parseCores(text: string, flag: string): number {
  const milli = /^\s*(\d+)m\s*$/.exec(text);
  const value = milli?.[1] !== undefined ? Number(milli[1]) : Number(text) * 1000;
  if (!(Number.isFinite(value) && value >= 0) || text.trim() === '')
    throw new GalaxyError(
      'GALAXY_E_INVALID_ARGUMENT',
      `${flag} must be a number of cores (4, 0.5 or 500m), got "${text}"`,
    );
  return Math.round(value);
}

/** A whole number ≥ 0. */
function parseCount(text: string, flag: string): number {
  const value = Number(text);
  if (!(Number.isSafeInteger(value) && value >= 0))
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `${flag} must be a whole number, got "${text}"`);
  return value;
}

/** `galaxy quota set`'s flags: a limit per resource, `guaranteeCpus` and so on for guarantees. */
type QuotaFlags = Partial<Record<string, string>> & { master: string; output: string };

/** How a quota resource's flag is read: cores, a count, or a size. */
function quotaAmount(resource: QuotaResource, text: string, flag: string): number {
  if (resource === 'cpus') return parseCores(text, flag);
  if (resource === 'replicas') return parseCount(text, flag);
  return parseSize(text, flag);
}

/** The limit and guarantee of `galaxy quota set` flags; unset flags are unlimited / none. */
export function quotaFromFlags(flags: QuotaFlags): { limit: QuotaAmounts; guarantee: QuotaAmounts } {
  const read = (resources: readonly QuotaResource[], prefix: string): QuotaAmounts =>
    Object.fromEntries(
      resources.map((r) => {
        const key = prefix === '' ? r : `${prefix}${r[0]?.toUpperCase() ?? ''}${r.slice(1)}`;
        const text = flags[key];
        const flag = `--${prefix === '' ? '' : `${prefix}-`}${r}`;
        return [r, text === undefined ? undefined : quotaAmount(r, text, flag)];
      }),
    );
  return { limit: read(QUOTA_RESOURCES, ''), guarantee: read(GUARANTEE_RESOURCES, 'guarantee') };
}

interface GrantLine {
  readonly user: string;
  readonly pool: string;
  readonly authorities: string;
}

const GRANT_COLUMNS: Column<GrantLine>[] = [
  { heading: 'USER', value: (g) => g.user },
  { heading: 'POOL', value: (g) => g.pool },
  { heading: 'AUTHORITIES', value: (g) => g.authorities },
];

/** One line per pool, then one for granted roles and `act-for-users` (pool `-`). */
export function grantLines(entries: readonly UserGrantsEntry[]): GrantLine[] {
  return entries.flatMap((e) => {
    const pools = e.pools.map((p) => ({ user: e.user, pool: p.pool, authorities: p.authorities.join(' ') }));
    const roles = [...e.roles.map((r) => `role:${r}`), ...(e.actForUsers ? ['act-for-users'] : [])];
    return roles.length === 0 ? pools : [...pools, { user: e.user, pool: '-', authorities: roles.join(' ') }];
  });
}

/** One row of `galaxy quota show`: one resource of one user. */
export interface QuotaLine {
  readonly user: string;
  readonly resource: string;
  readonly used: string;
  readonly limit: string;
  readonly guarantee: string;
}

const QUOTA_COLUMNS: Column<QuotaLine>[] = [
  { heading: 'USER', value: (q) => q.user },
  { heading: 'RESOURCE', value: (q) => q.resource },
  { heading: 'USED', value: (q) => q.used },
  { heading: 'LIMIT', value: (q) => q.limit },
  { heading: 'GUARANTEE', value: (q) => q.guarantee },
];

/**
 * The rows of a user's quota, in cores, GiB and counts; a medium (ssd, hdd, tmpfs) only when its
 * limit or guarantee is set or the user's jobs hold some of it.
 */
export function quotaLines(entry: UserQuotaEntry): QuotaLine[] {
  const shown = QUOTA_RESOURCES.filter(
    (r) =>
      !isDiskMedium(r) ||
      entry.limit?.[r] !== undefined ||
      entry.guarantee?.[r] !== undefined ||
      (entry.used?.[r] ?? 0) > 0,
  );
  return shown.map((r) => {
    const show = (v: number | undefined, none: string) => (v === undefined ? none : formatQuantity(r, v));
    const guarantee = r === 'replicas' ? undefined : entry.guarantee?.[r];
    return {
      user: entry.user,
      resource: r,
      used: show(entry.used?.[r] ?? 0, '0'),
      limit: show(entry.limit?.[r], 'unlimited'),
      guarantee: show(guarantee, '-'),
    };
  });
}

/** Adds `galaxy grant`, `galaxy grants` and `galaxy quota …`. */
export function addTenancyCommands(program: Command, defaultMaster: string): void {
  const masterOpt = masterOption(defaultMaster);
  const outputOpt = OUTPUT_OPTION;

  const show = (user: string, after: UserGrantsEntry | undefined, format: ReturnType<typeof parseOutputFormat>) => {
    const lines = grantLines(after ? [after] : []);
    if (lines.length === 0 && format === 'table') console.log(`user ${user} holds no grants`);
    else console.log(render(lines, GRANT_COLUMNS, format));
  };
  const grant = program
    .command('grant')
    .description(
      'grant a user authorities in a pool ("*" = every pool); --revoke takes them back (none named: all). ' +
        '"grant role" and "grant act-for-users" grant roles',
    )
    .argument('<user>')
    .argument('<pool>')
    .argument(
      '[authorities...]',
      "job:create job:update job:remove job:list job:any container:create container:remove container:list band:production band:monitoring task:run-as task:capabilities (job:any: act on other users' jobs)",
    )
    .option('--revoke', 'revoke instead of grant')
    .option(...masterOpt)
    .option(...outputOpt)
    .action(
      async (
        user: string,
        pool: string,
        authorities: string[],
        flags: { revoke?: boolean; master: string; output: string },
      ) => {
        const after = await withOperator(flags.master, (op) =>
          op.grantAuthorities({ user, pool, authorities, revoke: flags.revoke === true }).then((r) => r.grants),
        );
        show(user, after, parseOutputFormat(flags.output));
      },
    );
  grant
    .command('role')
    .description(
      'let a user subscribe frameworks with a role (and the roles below it) besides its own; --revoke takes it back',
    )
    .argument('<user>')
    .argument('<role>', 'a role path such as eng/search')
    .option('--revoke', 'revoke instead of grant')
    .option(...masterOpt)
    .option(...outputOpt)
    .action(async (user: string, role: string, _flags: unknown, command: Command) => {
      const flags = command.optsWithGlobals<{ revoke?: boolean; master: string; output: string }>();
      const after = await withOperator(flags.master, (op) =>
        op.grantRoles({ user, roles: [role], actForUsers: false, revoke: flags.revoke === true }).then((r) => r.grants),
      );
      show(user, after, parseOutputFormat(flags.output));
    });
  grant
    .command('act-for-users')
    .description(
      "let a user's frameworks act for every user (a shared framework such as the AppMaster); --revoke takes it back",
    )
    .argument('<user>')
    .option('--revoke', 'revoke instead of grant')
    .option(...masterOpt)
    .option(...outputOpt)
    .action(async (user: string, _flags: unknown, command: Command) => {
      const flags = command.optsWithGlobals<{ revoke?: boolean; master: string; output: string }>();
      const after = await withOperator(flags.master, (op) =>
        op.grantRoles({ user, roles: [], actForUsers: true, revoke: flags.revoke === true }).then((r) => r.grants),
      );
      show(user, after, parseOutputFormat(flags.output));
    });

  addListCommand(program, 'grants [user]', defaultMaster, {
    description: "users' authorities per pool, granted roles and act-for-users (a user's own without admin rights)",
    columns: GRANT_COLUMNS,
    rows: async (op, user) => grantLines((await op.listGrants({ user: user ?? '' })).users),
  });

  const quota = program.command('quota').description("users' quotas: limits, guarantees and what their jobs hold");
  quota
    .command('set')
    .description("set a user's quota (replaces it; a resource left out is unlimited)")
    .argument('<user>')
    .option('--cpus <cores>', 'limit of cpus, in cores (4, 0.5, 500m)')
    .option('--mem <size>', 'limit of memory (8GiB)')
    .option('--disk <size>', 'limit of disk, sandboxes and volumes of every medium (20GiB)')
    .option('--ssd <size>', 'limit of disk volumes on ssd disks (100GiB)')
    .option('--hdd <size>', 'limit of disk volumes on hdd disks (2TiB)')
    .option('--tmpfs <size>', 'limit of disk volumes on tmpfs disks (1GiB)')
    .option('--replicas <n>', 'limit of pods and batch tasks')
    .option('--guarantee-cpus <cores>', 'cpus offered to the user first')
    .option('--guarantee-mem <size>', 'memory offered to the user first')
    .option('--guarantee-disk <size>', 'disk offered to the user first')
    .option('--guarantee-ssd <size>', 'ssd disk offered to the user first')
    .option('--guarantee-hdd <size>', 'hdd disk offered to the user first')
    .option('--guarantee-tmpfs <size>', 'tmpfs disk offered to the user first')
    .option(...masterOpt)
    .option(...outputOpt)
    .action(async (user: string, flags: QuotaFlags) => {
      const format = parseOutputFormat(flags.output);
      const { limit, guarantee } = quotaFromFlags(flags);
      const entry = await withOperator(flags.master, (op) =>
        op.setUserQuota({ user, limit, guarantee }).then((r) => r.quota),
      );
      console.log(render(entry ? quotaLines(entry) : [], QUOTA_COLUMNS, format));
    });
  quota
    .command('show')
    .description("a user's quota (every user's for admins), with what their jobs' claims hold")
    .argument('[user]')
    .option(...masterOpt)
    .option(...outputOpt)
    .action(async (user: string | undefined, flags: { master: string; output: string }) => {
      const format = parseOutputFormat(flags.output);
      const entries = await withOperator(flags.master, (op) =>
        op.listUserQuotas({ user: user ?? '' }).then((r) => r.quotas),
      );
      if (format === 'json' || format === 'yaml') console.log(serialize(entries, format));
      else console.log(render(entries.flatMap(quotaLines), QUOTA_COLUMNS, format));
    });
}
