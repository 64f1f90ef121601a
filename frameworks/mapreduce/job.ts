/**
 * One MapReduce job's progress: its map and reduce slots, which attempt of each runs where, and
 * what is left to launch. A map is needed until every reduce is done: one lost before then (its
 * task ended, or its address stopped answering) is run again; reduces launch only once every map
 * serves its partitions.
 */
import {
  MapReduceJobState,
  type MapReduceJob,
  type MapReduceJobSpec,
  type MapReduceTask,
} from '../../proto/gen/galaxy/v1/mapreduce.js';
import type { Split } from './wordcount.js';

/** Where a slot's current attempt is. */
export type SlotState = 'pending' | 'launched' | 'ready' | 'done';

/** A map or reduce task, across its attempts. */
export interface Slot {
  readonly kind: 'map' | 'reduce';
  readonly index: number;
  attempt: number;
  state: SlotState;
  taskId: string;
  agentId: string;
  /** `host:port` the current attempt serves on. */
  address: string;
  /** Polls of a ready attempt that went unanswered in a row. */
  missedPolls: number;
  /** The agent its last attempt was lost on ('' if none): a re-run goes elsewhere when it can. */
  lostOn: string;
  /** Distinct and total words of a done reduce. */
  words: number;
  total: number;
}

const newSlot = (kind: Slot['kind'], index: number): Slot => ({
  kind,
  index,
  attempt: 0,
  state: 'pending',
  taskId: '',
  agentId: '',
  address: '',
  missedPolls: 0,
  lostOn: '',
  words: 0,
  total: 0,
});

/** A job as stored in the coordinator (`/galaxy/mapreduce/jobs/<name>`). */
export interface StoredMapReduceRun {
  readonly v: 1;
  readonly spec: MapReduceJobSpec;
  readonly splits: readonly Split[];
  readonly submittedAt: number;
  readonly owner: string;
  readonly uid: string;
  readonly state: MapReduceJobState;
  readonly message: string;
  readonly mapReruns: number;
  readonly reduceReruns: number;
  readonly finishedAt: number;
  readonly maps: readonly Slot[];
  readonly reduces: readonly Slot[];
  readonly outputFiles: readonly string[];
}

/** A job and its slots. */
export class MapReduceRun {
  state = MapReduceJobState.MAPREDUCE_MAPPING;
  message = '';
  mapReruns = 0;
  reduceReruns = 0;
  finishedAt = 0;
  readonly maps: Slot[];
  readonly reduces: Slot[];
  readonly outputFiles: string[] = [];

  constructor(
    readonly spec: MapReduceJobSpec,
    readonly splits: readonly Split[],
    readonly submittedAt: number,
    /** The user who submitted it: its tasks run in that user's role. */
    readonly owner = '',
    /** A random id of this submission, in its task ids: a reused name never meets an old task. */
    readonly uid = '',
  ) {
    this.maps = splits.map((_, i) => newSlot('map', i));
    this.reduces = Array.from({ length: spec.reduces }, (_, i) => newSlot('reduce', i));
  }

  /** The job as it was stored: its slots where they were (a new leader polls and reconciles them). */
  static fromStored(stored: StoredMapReduceRun): MapReduceRun {
    const run = new MapReduceRun(stored.spec, stored.splits, stored.submittedAt, stored.owner, stored.uid);
    run.state = stored.state;
    run.message = stored.message;
    run.mapReruns = stored.mapReruns;
    run.reduceReruns = stored.reduceReruns;
    run.finishedAt = stored.finishedAt;
    const load = (into: Slot[], from: readonly Slot[]) => {
      from.forEach((slot, i) => {
        if (into[i]) into[i] = { ...slot, missedPolls: 0 };
      });
    };
    load(run.maps, stored.maps);
    load(run.reduces, stored.reduces);
    run.outputFiles.push(...stored.outputFiles);
    return run;
  }

  /** What is stored. */
  toStored(): StoredMapReduceRun {
    return {
      v: 1,
      spec: this.spec,
      splits: this.splits,
      submittedAt: this.submittedAt,
      owner: this.owner,
      uid: this.uid,
      state: this.state,
      message: this.message,
      mapReruns: this.mapReruns,
      reduceReruns: this.reduceReruns,
      finishedAt: this.finishedAt,
      maps: this.maps.map((s) => ({ ...s })),
      reduces: this.reduces.map((s) => ({ ...s })),
      outputFiles: [...this.outputFiles],
    };
  }

  /** True once nothing more will run. */
  get done(): boolean {
    return this.state >= MapReduceJobState.MAPREDUCE_SUCCEEDED;
  }

  /** True when every map serves its partitions. */
  get mapsReady(): boolean {
    return this.maps.every((s) => s.state === 'ready');
  }

  /** Slots to launch now: pending maps, and pending reduces once every map is ready. */
  launchable(): Slot[] {
    if (this.done) return [];
    const maps = this.maps.filter((s) => s.state === 'pending');
    return this.mapsReady ? this.reduces.filter((s) => s.state === 'pending') : maps;
  }

  /** Every slot whose current attempt may be running. */
  live(): Slot[] {
    return [...this.maps, ...this.reduces].filter((s) => s.state === 'launched' || s.state === 'ready');
  }

  /** Records a launch of `slot` on `agentId` at `address`; returns its task id. */
  launch(slot: Slot, agentId: string, address: string): string {
    slot.attempt += 1;
    slot.state = 'launched';
    slot.agentId = agentId;
    slot.address = address;
    slot.missedPolls = 0;
    const uid = this.uid === '' ? '' : `${this.uid}.`;
    slot.taskId = `${this.spec.name}.${uid}${slot.kind === 'map' ? 'm' : 'r'}${slot.index}.${slot.attempt}`;
    return slot.taskId;
  }

  /** Puts a launch back (the ACCEPT failed). */
  unlaunch(slot: Slot): void {
    slot.attempt -= 1;
    slot.state = 'pending';
    slot.taskId = '';
  }

  /**
   * The current attempt of `slot` is lost (ended, or unreachable). A map is run again while a
   * reduce still needs it, a reduce until it is done — up to the job's attempts, after which the
   * job fails. Returns false when nothing needs to run again.
   */
  lost(slot: Slot, why: string, now: number): boolean {
    if (this.done || slot.state === 'pending' || slot.state === 'done') return false;
    if (slot.attempt >= this.spec.maxAttempts) {
      this.finish(
        MapReduceJobState.MAPREDUCE_FAILED,
        `${slot.kind} ${slot.index} failed ${slot.attempt} times: ${why}`,
        now,
      );
      return false;
    }
    if (slot.kind === 'map') {
      this.mapReruns += 1;
      if (this.state === MapReduceJobState.MAPREDUCE_REDUCING) this.state = MapReduceJobState.MAPREDUCE_MAPPING;
    } else {
      this.reduceReruns += 1;
    }
    slot.state = 'pending';
    slot.taskId = '';
    slot.lostOn = slot.agentId;
    return true;
  }

  /** Every map is ready: the reduce phase may begin. */
  mapReady(slot: Slot): void {
    slot.state = 'ready';
    slot.missedPolls = 0;
    if (this.mapsReady && this.state === MapReduceJobState.MAPREDUCE_MAPPING)
      this.state = MapReduceJobState.MAPREDUCE_REDUCING;
  }

  /** A reduce's output was collected into `file`. Returns true when that finished the job. */
  reduceDone(slot: Slot, file: string, words: number, total: number, now: number): boolean {
    slot.state = 'done';
    slot.words = words;
    slot.total = total;
    this.outputFiles[slot.index] = file;
    if (!this.reduces.every((s) => s.state === 'done')) return false;
    this.finish(MapReduceJobState.MAPREDUCE_SUCCEEDED, '', now);
    return true;
  }

  /** Ends the job. */
  finish(state: MapReduceJobState, message: string, now: number): void {
    this.state = state;
    this.message = message;
    this.finishedAt = now;
  }

  /** The job as the API reports it. */
  toProto(): MapReduceJob {
    const task = (s: Slot): MapReduceTask => ({
      kind: s.kind,
      index: s.index,
      attempt: s.attempt,
      taskId: s.taskId,
      state: s.state,
      address: s.address,
      agentId: s.agentId,
    });
    const succeeded = this.state === MapReduceJobState.MAPREDUCE_SUCCEEDED;
    return {
      spec: this.spec,
      state: this.state,
      progress: {
        maps: this.maps.length,
        mapsReady: this.maps.filter((s) => s.state === 'ready').length,
        reduces: this.reduces.length,
        reducesDone: this.reduces.filter((s) => s.state === 'done').length,
        mapReruns: this.mapReruns,
        reduceReruns: this.reduceReruns,
      },
      summary: {
        distinctWords: succeeded ? this.reduces.reduce((n, s) => n + s.words, 0) : 0,
        totalWords: succeeded ? this.reduces.reduce((n, s) => n + s.total, 0) : 0,
        outputFiles: succeeded ? [...this.outputFiles] : [],
      },
      tasks: [...this.maps, ...this.reduces].map(task),
      message: this.message,
      submittedAt: this.submittedAt / 1000,
      finishedAt: this.finishedAt / 1000,
    };
  }
}
