/**
 * The API's JSON (proto3 JSON of Galaxy's messages: fields at their default are left out, so
 * every field is optional here).
 */

export interface Resources {
  cpus?: number;
  mem?: number;
  disk?: number;
  gpus?: number;
}

export interface Label {
  key?: string;
  value?: string;
}

/** One named disk of an agent, bytes (docs/disks.md, "Seeing the disks"). */
export interface AgentDisk {
  name?: string;
  medium?: string;
  capacity?: number;
  used?: number;
  offered?: number;
  free?: number;
}

/** The listed agents' named disks summed per medium. */
export interface MediumTotal {
  medium?: string;
  disks?: number;
  capacity?: number;
  used?: number;
  offered?: number;
  free?: number;
}

export interface Agent {
  info?: { id?: string; hostname?: string; total?: Resources; attributes?: Label[]; pool?: string };
  used?: Resources;
  offered?: Resources;
  active?: boolean;
  tasks?: number;
  mode?: string;
  labels?: string[];
  /** What the agent lends as revocable resources, and what tasks on them hold (docs/resources.md). */
  revocableEstimate?: Resources;
  revocableUsed?: Resources;
  /** Its named disks (absent when it has none). */
  disks?: AgentDisk[];
}

export interface RoleShare {
  role?: string;
  share?: number;
}

export interface Framework {
  info?: { id?: string; name?: string; role?: string; roles?: string[] };
  active?: boolean;
  used?: Resources;
  dominantShare?: number;
  tasks?: number;
  suppressed?: boolean;
  owner?: string;
  roleShares?: RoleShare[];
}

export interface Task {
  taskId?: string;
  name?: string;
  frameworkId?: string;
  agentId?: string;
  resources?: Resources;
  state?: string;
  role?: string;
  /** It runs on revocable resources: its agent may evict it (reason `resources-revoked`). */
  onRevocable?: boolean;
  status?: { message?: string; reason?: string; timestamp?: number };
}

export interface Shares {
  roles: { role: string; share: number }[];
  frameworks: { id: string; name: string; owner: string; dominantShare: number; roleShares?: RoleShare[] }[];
}

export interface Pod {
  podId?: string;
  index?: number;
  agentId?: string;
  hostname?: string;
  phase?: string;
  revision?: number;
  version?: string;
  health?: string;
  restarts?: number;
  message?: string;
  ports?: Record<string, number>;
}

export interface Job {
  name?: string;
  state?: string;
  replicas?: number;
  revision?: number;
  version?: string;
  pods?: Pod[];
  update?: {
    fromRevision?: number;
    toRevision?: number;
    updated?: number;
    total?: number;
    failed?: number;
    paused?: boolean;
    pausedReason?: string;
    rollingBack?: boolean;
    /** Pods a canary update moves before it holds (absent: not a canary). */
    canary?: number;
  };
  pending?: { reason?: string; hosts?: number }[];
  message?: string;
  owner?: string;
  specJson?: string;
}

export interface MasterEvent {
  id?: string;
  time?: number;
  kind?: string;
  reason?: string;
  actor?: string;
  user?: string;
  job?: string;
  pod?: string;
  agentId?: string;
  taskId?: string;
  state?: string;
  message?: string;
  preemption?: { frameworkName?: string; hostname?: string; victims?: unknown[] };
}

export interface UsagePoint {
  at: number;
  cpuMs: number;
  memBs: number;
  allocatedCpuMs: number;
  allocatedMemBs: number;
}

export interface Info {
  service: string;
  features: { logs: boolean; jobs: boolean; metrics: boolean };
}

export interface Whoami {
  user: string;
  admin: boolean;
  kind: string;
}
