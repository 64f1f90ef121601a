import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { Task, TaskState } from '../proto/gen/galaxy/v1/common.js';
import { parseOutputFormat, render, type Column } from './output.js';

const task = Task.fromPartial({ taskId: 't1', frameworkId: 'fw-1', state: TaskState.TASK_RUNNING });
const columns: Column<Task>[] = [
  { heading: 'ID', value: (t) => t.taskId },
  { heading: 'FRAMEWORK', value: (t) => t.frameworkId, wide: true },
];

describe('CLI output', () => {
  it('prints messages as protobuf JSON: enum names, not numbers', () => {
    const json = JSON.parse(render([task], columns, 'json', Task)) as Record<string, unknown>[];
    expect(json[0]).toMatchObject({ taskId: 't1', frameworkId: 'fw-1', state: 'TASK_RUNNING' });
  });

  it('prints the same as YAML', () => {
    expect(parse(render([task], columns, 'yaml', Task))).toEqual(JSON.parse(render([task], columns, 'json', Task)));
  });

  it('shows wide columns with -o wide only', () => {
    expect(render([task], columns, 'table')).not.toContain('FRAMEWORK');
    expect(render([task], columns, 'wide')).toContain('fw-1');
  });

  it('refuses an unknown format, naming the ones there are', () => {
    expect(() => parseOutputFormat('xml')).toThrow(
      'GALAXY_E_INVALID_ARGUMENT: --output must be one of table, wide, json, yaml, got "xml"',
    );
  });
});
