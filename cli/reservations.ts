/**
 * `galaxy reserve <agent> <role> cpus=2,mem=1GiB` and `galaxy unreserve …`: dynamic
 * reservations of an agent's resources for a role (admins). Static ones are the agent's
 * `--reserve` flag.
 */
import type { Command } from 'commander';
import type { ReservedResources } from '../proto/gen/galaxy/v1/common.js';
import { parseReservedAmounts } from '../core/reservation-spec.js';
import { emptyResources, formatResources } from '../core/resources.js';
import { masterOption, withOperator } from './list-command.js';

/** One line per role: `eng  cpus:2 mem:1GiB disk:0B`. */
export function formatReservations(agentId: string, reservations: readonly ReservedResources[]): string {
  if (reservations.length === 0) return `agent ${agentId} has no reservations`;
  const lines = reservations.map((r) => `  ${r.role}\t${formatResources(r.resources ?? emptyResources())}`);
  return [`reservations of agent ${agentId}:`, ...lines].join('\n');
}

/** Adds `reserve` and `unreserve` to the program. */
export function addReservationCommands(program: Command, defaultMaster: string): void {
  const masterOpt = masterOption(defaultMaster);
  for (const verb of ['reserve', 'unreserve'] as const) {
    program
      .command(`${verb} <agent> <role> <amounts>`)
      .description(
        verb === 'reserve'
          ? "reserve an agent's resources for a role and its descendants (admins), e.g. cpus=2,mem=1GiB"
          : 'give back (part of) a dynamic reservation (admins), e.g. cpus=2,mem=1GiB',
      )
      .option(...masterOpt)
      .action(async (agent: string, role: string, amounts: string, opts: { master: string }) => {
        const resources = parseReservedAmounts(amounts, `galaxy ${verb}`);
        const after = await withOperator(opts.master, (op) =>
          op[verb === 'reserve' ? 'reserveResources' : 'unreserveResources']({ agentId: agent, role, resources }).then(
            (r) => r.reservations,
          ),
        );
        console.log(formatReservations(agent, after));
      });
  }
}
