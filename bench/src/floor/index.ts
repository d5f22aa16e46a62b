import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ensureNamespace } from '@autoflow/local-stack';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { cpuPerRun, cpuSnapshot } from '../cpu.js';
import { type LatencySummary, summarize, sustained, type ThroughputResult } from '../stats.js';
import * as activities from './activities.js';

export type FloorKind = 'activity' | 'localActivity';

export interface FloorResult {
  kind: FloorKind;
  sequential: LatencySummary;
  throughput: ThroughputResult[];
}

const WORKFLOW_TYPES: Record<FloorKind, string> = {
  activity: 'floorActivityWorkflow',
  localActivity: 'floorLocalActivityWorkflow',
};

export interface FloorPlan {
  sequentialRuns: number;
  warmupRuns: number;
  concurrencies: readonly number[];
  seconds: number;
}

/** A bare client and worker in one process: the least any Temporal-backed run can cost. */
export async function measureFloor(
  address: string,
  plan: FloorPlan,
  tracked: Record<string, number | undefined>,
): Promise<FloorResult[]> {
  const namespace = `floor-${randomUUID().slice(0, 8)}`;
  await ensureNamespace(address, namespace);
  const taskQueue = 'floor';
  const workerConnection = await NativeConnection.connect({ address });
  const worker = await Worker.create({
    connection: workerConnection,
    namespace,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('./workflows.js', import.meta.url)),
    activities,
    maxConcurrentWorkflowTaskExecutions: 40,
    maxConcurrentActivityTaskExecutions: 100,
  });
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  const runOnce = (kind: FloorKind) =>
    client.workflow.execute(WORKFLOW_TYPES[kind], { taskQueue, workflowId: randomUUID(), args: [1] });

  const results: FloorResult[] = [];
  await worker.runUntil(async () => {
    for (const kind of ['activity', 'localActivity'] as const) {
      for (let run = 0; run < plan.warmupRuns; run++) await runOnce(kind);
      const samples: number[] = [];
      for (let run = 0; run < plan.sequentialRuns; run++) {
        const start = performance.now();
        await runOnce(kind);
        samples.push(performance.now() - start);
      }
      const throughput: ThroughputResult[] = [];
      for (const concurrency of plan.concurrencies) {
        const before = await cpuSnapshot(tracked);
        const result = await sustained(concurrency, plan.seconds, async () => {
          await runOnce(kind);
        });
        throughput.push({
          ...result,
          cpuMsPerRun: cpuPerRun(before, await cpuSnapshot(tracked), result.completed),
        });
      }
      results.push({ kind, sequential: summarize(samples), throughput });
    }
  });
  await connection.close();
  await workerConnection.close();
  return results;
}
