/**
 * The top of a V8 CPU profile (`node --cpu-prof`): self time per function, and total time per
 * function (self plus what it called), so the simulator's report says where the master spent its
 * time without opening a profiler.
 */

/** The parts of a `.cpuprofile` read here. */
export interface CpuProfile {
  readonly nodes: readonly {
    readonly id: number;
    readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
    readonly children?: readonly number[];
  }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

/** One function's share. */
export interface ProfileEntry {
  /** `name (file:line)`, the file relative to the project where it is inside it. */
  readonly where: string;
  readonly selfMs: number;
  readonly selfPct: number;
  readonly totalMs: number;
  readonly totalPct: number;
}

function label(frame: CpuProfile['nodes'][number]['callFrame']): string {
  const url = frame.url
    .replace(/^file:\/\//, '')
    .replace(/^.*\/dist\//, '')
    .replace(/^.*\/node_modules\//, '');
  const name = frame.functionName === '' ? '(anonymous)' : frame.functionName;
  return url === '' ? name : `${name} (${url}:${frame.lineNumber + 1})`;
}

/** Functions by self time and by total time, the top `limit` of each; `busyMs` excludes `(idle)`. */
export function summarizeProfile(
  profile: CpuProfile,
  limit = 15,
): { readonly wallMs: number; readonly busyMs: number; readonly self: ProfileEntry[]; readonly total: ProfileEntry[] } {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const name = label(node.callFrame);
    if (node.callFrame.functionName === '(idle)') idleUs += us;
    self.set(name, (self.get(name) ?? 0) + us);
    // Each function on the stack once, however often it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at);
      if (!frame) break;
      const frameName = label(frame.callFrame);
      if (seen.has(frameName)) continue;
      seen.add(frameName);
      total.set(frameName, (total.get(frameName) ?? 0) + us);
    }
  }
  const wallUs = profile.endTime - profile.startTime;
  const busyUs = Math.max(1, wallUs - idleUs);
  const skip = new Set(['(idle)', '(root)', '(program)']);
  const entries = (map: Map<string, number>): ProfileEntry[] =>
    [...map]
      .filter(([name]) => !skip.has(name))
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([where]) => {
        const s = self.get(where) ?? 0;
        const t = total.get(where) ?? 0;
        return {
          where,
          selfMs: Math.round(s / 1000),
          selfPct: Math.round((s / busyUs) * 1000) / 10,
          totalMs: Math.round(t / 1000),
          totalPct: Math.round((t / busyUs) * 1000) / 10,
        };
      });
  return {
    wallMs: Math.round(wallUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    self: entries(self),
    total: entries(total),
  };
}
