/**
 * gRPC adapter of the TaskWatch service (`galaxy tasks --watch`): what ListTasks answers the
 * caller, pushed again each time a task is launched or changes state.
 */
import type { ServerWritableStream } from '@grpc/grpc-js';
import { principalOf, type Principal } from '../../core/auth/principal.js';
import { ChangeListeners, serveWatch } from '../../core/watch-stream.js';
import type { Task } from '../../proto/gen/galaxy/v1/common.js';
import { ListTasksResponse, type ListTasksRequest } from '../../proto/gen/galaxy/v1/operator.js';
import type { TaskWatchServer } from '../../proto/gen/galaxy/v1/watch.js';
import type { MasterHooks } from '../hooks.js';
import type { MasterView } from '../view.js';

/** Builds the TaskWatch implementation. */
export function taskWatchApi(
  hooks: MasterHooks,
  view: MasterView,
  visibleTo: (caller: Principal) => (task: Task) => boolean,
): TaskWatchServer {
  const changes = new ChangeListeners();
  hooks.taskLaunched.tap('task-watch', () => {
    changes.changed();
  });
  hooks.statusUpdate.tap('task-watch', () => {
    changes.changed();
  });
  return {
    watch(call: ServerWritableStream<ListTasksRequest, ListTasksResponse>): void {
      const caller = principalOf(call);
      const visible = caller ? visibleTo(caller) : () => false;
      serveWatch(call, {
        snapshot: () => ({ tasks: view.tasks(call.request.frameworkId).filter(visible) }),
        encode: (value) => ListTasksResponse.encode(value).finish(),
        changes,
      });
    },
  };
}
