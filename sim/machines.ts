/**
 * The simulated machines: a Borg cell's `machines.csv` (google2011: `timestamp, machine id,
 * event, platform, cpu, memory`, capacities normalized to the largest machine = 1.0), Alibaba's GPU
 * node list (alibaba2023-gpu: `sn, cpu_milli, memory_mib, gpu, model`), or N copies of one shape. Pure parsing; the fleet turns each into an agent.
 */
import type { MachineInfo } from '../agent/discovery.js';
import { GalaxyError } from '../core/errors.js';
import { parseResources } from '../core/resources.js';
import type { Resources } from '../proto/gen/galaxy/v1/common.js';

/** What a normalized capacity of 1.0 is: the trace's largest machine. */
export interface MachineScale {
  /** Millicores of a 1.0 machine (default 64 cores). */
  readonly cpus: number;
  /** Bytes of memory of a 1.0 machine (default 256 GiB). */
  readonly mem: number;
  /** Bytes of disk every machine gets (the trace names none; default 1 TiB). */
  readonly disk: number;
}

const GiB = 1024 ** 3;

/** 1.0 = 64 cores and 256 GiB, as issue 16 scales the google2011 cell. */
export const DEFAULT_SCALE: MachineScale = { cpus: 64_000, mem: 256 * GiB, disk: 1024 * GiB };

/** Ports every simulated machine offers (services' dynamic ports come from here). */
const PORTS = [{ begin: 31000, end: 32000 }];

/** A simulated machine: its trace id (if any) and what its agent registers with. */
export interface SimMachine {
  /** The trace's machine id, or the index of a synthetic machine. */
  readonly traceId: string;
  readonly info: MachineInfo;
}

/** A machine named `hostname` with `total`. */
function machine(traceId: string, hostname: string, total: Resources): SimMachine {
  return {
    traceId,
    info: {
      hostname,
      total,
      attributes: [],
      pool: 'default',
      reservations: [],
      allowedHostPaths: [],
      disks: [],
      diskWarnings: [],
    },
  };
}

/**
 * Parses google2011's `machines.csv` (or alibaba2023-gpu's node list, told by its header): every
 * machine present (its last event not REMOVE) with a capacity, in file order, scaled by `scale`; `limit` keeps the first that many. Rows without a
 * capacity (the trace leaves some empty) are skipped. Throws `GALAXY_E_INVALID_ARGUMENT` naming the
 * line for a malformed row.
 */
export function parseMachinesCsv(text: string, scale: MachineScale = DEFAULT_SCALE, limit = Infinity): SimMachine[] {
  if (text.startsWith(ALIBABA_NODES_HEADER)) return parseAlibabaNodes(text, scale, limit);
  const machines: SimMachine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length && machines.length < limit; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    const cols = line.split(',');
    const [, id, event, , cpu, mem] = cols;
    if (cols.length !== 6 || id === undefined || !/^\d+$/.test(id) || !/^[012]$/.test(event ?? ''))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `machines.csv line ${i + 1}: expected 6 columns, got "${line.slice(0, 80)}"`,
      );
    if (event === '1' || cpu === '' || mem === '') continue;
    const c = Number(cpu);
    const m = Number(mem);
    if (!(c > 0 && c <= 1 && m > 0 && m <= 1))
      throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `machines.csv line ${i + 1}: capacities must be in (0, 1]`);
    machines.push(
      machine(id, `m${id}`, {
        cpus: Math.round(c * scale.cpus),
        mem: Math.round(m * scale.mem),
        disk: scale.disk,
        gpus: 0,
        ports: PORTS,
      }),
    );
  }
  return machines;
}

/** The first line of alibaba2023-gpu's `openb_node_list_all_node.csv`. */
const ALIBABA_NODES_HEADER = 'sn,cpu_milli,memory_mib,gpu,model';

/**
 * Parses alibaba2023-gpu's node list (`sn, cpu_milli, memory_mib, gpu, model`: absolute
 * capacities, GPUs as a count): each node as it is, with `scale.disk` of disk; `limit` keeps the
 * first that many. Throws `GALAXY_E_INVALID_ARGUMENT` naming the line for a malformed row.
 */
function parseAlibabaNodes(text: string, scale: MachineScale, limit: number): SimMachine[] {
  const machines: SimMachine[] = [];
  const lines = text.split('\n');
  for (let i = 1; i < lines.length && machines.length < limit; i++) {
    const line = lines[i]?.trim() ?? '';
    if (line === '') continue;
    const [sn, cpu, mem, gpus] = line.split(',');
    const numbers = [Number(cpu), Number(mem), Number(gpus)];
    if (!sn || !/^[A-Za-z0-9-]+$/.test(sn) || numbers.some((n) => !Number.isInteger(n) || n < 0))
      throw new GalaxyError(
        'GALAXY_E_INVALID_ARGUMENT',
        `node list line ${i + 1}: expected "sn,cpu_milli,memory_mib,gpu,model", got "${line.slice(0, 80)}"`,
      );
    const [cpus = 0, memMib = 0, gpuCount = 0] = numbers;
    machines.push(
      machine(String(i - 1), sn, { cpus, mem: memMib * 1024 * 1024, disk: scale.disk, gpus: gpuCount, ports: PORTS }),
    );
  }
  return machines;
}

/** `count` machines of one shape (`resources`, e.g. `cpus:32;mem:128GiB;disk:1TiB`), named sim-0…. */
export function uniformMachines(count: number, resources: string, prefix = 'sim'): SimMachine[] {
  if (!Number.isInteger(count) || count < 1 || count > 100_000)
    throw new GalaxyError('GALAXY_E_INVALID_ARGUMENT', `--agents must be 1..100000, got ${count}`);
  const total = { ...parseResources(resources, '--resources') };
  if (total.ports.length === 0) total.ports = PORTS;
  return Array.from({ length: count }, (_, i) => machine(String(i), `${prefix}-${i}`, total));
}
