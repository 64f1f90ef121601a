/**
 * The kernel's ephemeral port range (`net.ipv4.ip_local_port_range`) against the ports an agent
 * offers. A port in both can be taken at any moment by an outgoing connection of any process on the
 * machine (a gRPC client, a health check, a fetch): a task given that port then fails to listen on
 * it (`EADDRINUSE`), at random and possibly again on every retry. Mesos and Nomad warn of the same.
 */
import { readFile } from 'node:fs/promises';
import type { Range } from '../proto/gen/galaxy/v1/common.js';

/** Where Linux keeps the range. */
export const EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/** Parses the file's `low<tab>high`; undefined when it is not two ordered port numbers. */
export function parseEphemeralRange(text: string): Range | undefined {
  const [low, high] = text.trim().split(/\s+/).map(Number);
  if (low === undefined || high === undefined || !Number.isInteger(low) || !Number.isInteger(high)) return undefined;
  if (low < 1 || high > 65_535 || low > high) return undefined;
  return { begin: low, end: high };
}

/** The parts of `ports` inside `ephemeral`, in order. */
export function ephemeralOverlap(ports: readonly Range[], ephemeral: Range): Range[] {
  const overlap: Range[] = [];
  for (const range of ports) {
    const begin = Math.max(range.begin, ephemeral.begin);
    const end = Math.min(range.end, ephemeral.end);
    if (begin <= end) overlap.push({ begin, end });
  }
  return overlap;
}

/** The overlap of `ports` with this machine's ephemeral range; empty when the file cannot be read. */
export async function offeredEphemeralPorts(ports: readonly Range[], file = EPHEMERAL_RANGE_FILE): Promise<Range[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const ephemeral = parseEphemeralRange(text);
  return ephemeral ? ephemeralOverlap(ports, ephemeral) : [];
}
