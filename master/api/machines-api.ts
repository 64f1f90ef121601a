/**
 * The Operator RPCs of machines and accounting: pools, labels, modes (admins only) and
 * GetAccounting (admins for anyone; other users for themselves).
 */
import type { Metadata } from '@grpc/grpc-js';
import { callerOf, requireAdmin } from '../../core/auth/caller.js';
import { GalaxyError } from '../../core/errors.js';
import { unaryHandler } from '../../core/grpc-errors.js';
import type { OperatorServer } from '../../proto/gen/galaxy/v1/operator.js';
import type { Accounting } from '../accounting/accounting.js';
import type { ResourceSecondsTotals } from '../accounting/ledger.js';
import { checkMode, type Machines } from '../tenancy/machines.js';

/** The machine and accounting handlers of the Operator service. */
export type MachinesOperator = Pick<
  OperatorServer,
  | 'addPool'
  | 'removePool'
  | 'listPools'
  | 'assignAgentPool'
  | 'addAgentLabel'
  | 'removeAgentLabel'
  | 'listAgentLabels'
  | 'setAgentMode'
  | 'getAccounting'
>;

/**
 * The Operator handlers other than `Keys`, without the service's index signature (which a plain
 * `Omit` would keep alone): what `operatorApi` builds while other modules build `Keys`.
 */
export type OperatorServerWithout<Keys extends string> = {
  [K in keyof OperatorServer as string extends K ? never : K extends Keys ? never : K]: OperatorServer[K];
};

type Call<Req> = { request: Req; metadata: Metadata };

/** A unary handler whose body also sees the call (for its principal). */
function withCall<Req, Res>(handler: (call: Call<Req>) => Res) {
  return (call: Call<Req>, callback: Parameters<ReturnType<typeof unaryHandler<Req, Res>>>[1]): void => {
    unaryHandler<Req, Res>(() => handler(call))(call, callback);
  };
}

/** An admin-only unary handler: the caller is checked before `handler` runs. */
function admin<Req, Res>(what: string, handler: (request: Req, caller: string) => Res) {
  return withCall<Req, Res>((call) => {
    const caller = callerOf(call);
    requireAdmin(caller, what);
    return handler(call.request, caller.user);
  });
}

const seconds = (t: ResourceSecondsTotals) => ({ cpuMs: t.cpuMs, memBs: t.memBs, diskBs: t.diskBs });

/** Builds the machine and accounting handlers. */
export function machinesOperatorApi(machines: Machines, accounting: Accounting): MachinesOperator {
  return {
    addPool: admin('manage pools', (request) => ({ pool: machines.addPool(request.name, request.description) })),
    removePool: admin('manage pools', (request) => {
      machines.removePool(request.name);
      return {};
    }),
    listPools: unaryHandler(() => ({ pools: machines.listPools() })),
    assignAgentPool: admin('manage machines', (request) => {
      machines.assignPool(request.agentId, request.pool);
      return {};
    }),
    addAgentLabel: admin('manage labels', (request) => ({ labels: machines.addLabel(request.agentId, request.label) })),
    removeAgentLabel: admin('manage labels', (request) => ({
      labels: machines.removeLabel(request.agentId, request.label),
    })),
    listAgentLabels: unaryHandler((request) => ({ agents: machines.listLabels(request.agentId) })),
    setAgentMode: admin('manage machines', (request, caller) => {
      machines.setMode(request.agentId, checkMode(request.mode), caller);
      return {};
    }),
    getAccounting: withCall((call) => {
      const principal = callerOf(call);
      const { user, pool, sinceS } = call.request;
      if (!principal.admin && user !== principal.user)
        throw new GalaxyError(
          'GALAXY_E_PERMISSION_DENIED',
          `user ${principal.user} may read only their own accounting (--user ${principal.user})`,
        );
      if (!(Number.isFinite(sinceS) && sinceS >= 0))
        throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `since_s must be a number of seconds >= 0, got ${sinceS}`);
      const report = accounting.report(user, pool, sinceS);
      return {
        rows: report.rows.map((r) => ({
          ...r,
          allocated: seconds(r.allocated),
          used: seconds(r.used),
          revocable: seconds(r.revocable),
        })),
        clusterAllocated: seconds(report.cluster),
        fromS: report.fromMs / 1000,
        toS: report.toMs / 1000,
      };
    }),
  };
}
