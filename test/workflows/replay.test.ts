import { readFileSync, readdirSync } from 'node:fs';
import type { HistoryAndWorkflowId } from '@temporalio/common';
import { Worker, type ReplayResult } from '@temporalio/worker';
import { beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS_PATH } from '../../src/temporal/temporal.js';
import { historyFromJson } from './histories/history-json.js';

// Every history in histories/ must replay on the current workflow code without a determinism
// error: a change that open runs would replay differently has to go behind patched(). Any
// workflow's history counts (its type is in the history itself): one written by
// histories/record.ts, or one exported with `temporal workflow show --output json`.
const DIRECTORY = new URL('./histories/', import.meta.url);
const FILES = readdirSync(DIRECTORY).filter((file) => file.endsWith('.json')).sort();

describe('recorded workflow histories replay on the current code', () => {
  const results = new Map<string, ReplayResult>();

  beforeAll(async () => {
    const histories: HistoryAndWorkflowId[] = FILES.map((file) => ({
      workflowId: file.replace(/\.json$/, ''),
      history: historyFromJson(JSON.parse(readFileSync(new URL(file, DIRECTORY), 'utf8'))),
    }));
    for await (const result of Worker.runReplayHistories({ workflowsPath: WORKFLOWS_PATH }, histories)) {
      results.set(`${result.workflowId}.json`, result);
    }
  }, 120_000);

  it('has the deletion saga fixtures: completed, action_required then retried, and a run from before the saga', () => {
    expect(FILES).toEqual(
      expect.arrayContaining([
        'customer-deletion.completed.json',
        'customer-deletion.action-required-retried.json',
        // Recorded with the workflow code of commit 9189f39: the patched() branch that keeps such runs working.
        'customer-deletion.before-billing-saga.json',
      ]),
    );
  });

  it('has the messaging fixtures: a sequence run completed, stopped, continued as new, ended by archiving; an enroller and a message queue after a pass', () => {
    expect(FILES).toEqual(
      expect.arrayContaining([
        'sequence.completed.json',
        'sequence.stopped.json',
        'sequence.continued-as-new.json',
        'sequence.ended-archived.json',
        'sequence-enroller.pass.json',
        'message-queue.pass.json',
      ]),
    );
  });

  it('has the webhook fixture: an endpoint whose delivery was retried, waiting for its next nudge', () => {
    expect(FILES).toContain('webhook-endpoint.retried.json');
  });

  it('has the LTV rollup fixtures: a first run that continues as new, and a last run that finishes', () => {
    expect(FILES).toEqual(expect.arrayContaining(['ltv-rollup.first-run.json', 'ltv-rollup.last-run.json']));
  });

  it.each(FILES)('%s', (file) => {
    const result = results.get(file);
    expect(result, `${file} was replayed`).toBeDefined();
    expect(result!.error).toBeUndefined();
  });
});
