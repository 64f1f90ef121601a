/**
 * The framework host's extension points: every hosted framework's events pass through them, so a
 * plugin can observe or trace any framework without touching it.
 */
import { SyncHook } from 'tapable';
import type { Offer, TaskStatus } from '../../proto/gen/galaxy/v1/common.js';
import type { SubscribedInfo } from '../sdk/scheduler.js';

/** Creates the host's frozen hooks. */
export function createFrameworkHostHooks() {
  return Object.freeze({
    subscribed: new SyncHook<[SubscribedInfo]>(['info']),
    offers: new SyncHook<[Offer[]]>(['offers']),
    statusUpdate: new SyncHook<[TaskStatus]>(['status']),
  });
}

/** The framework host's hooks. */
export type FrameworkHostHooks = ReturnType<typeof createFrameworkHostHooks>;
