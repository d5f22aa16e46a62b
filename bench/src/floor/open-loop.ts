import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { ensureNamespace } from '@autoflow/local-stack';
import { Client, Connection } from '@temporalio/client';
import type { OpenLoopTarget } from '../openloop.js';
import { Rendezvous, startSink } from '../system.js';

export interface FloorOpenLoop {
  openLoopTarget: OpenLoopTarget;
  stop(): Promise<void>;
}

/**
 * The least a Temporal-backed run can cost under the open loop: a client starts a workflow whose one
 * local activity posts the event to the sink, run by a bare worker in its own process. No webhook, no
 * records, no codec: what the same server and machine give before any of the system's code.
 */
export async function startFloorOpenLoop(
  address: string,
  temporalPid: number | undefined,
): Promise<FloorOpenLoop> {
  const namespace = `floor-open-${randomUUID().slice(0, 8)}`;
  await ensureNamespace(address, namespace);
  const taskQueue = 'floor-open';
  const arrivals = new Rendezvous<number>();
  const sink = await startSink(arrivals, /"seq":"?([\w-]+)/);
  const sinkUrl = `http://${sink.hostPort}/sink`;
  const worker = spawn(
    process.execPath,
    [new URL('./worker-process.js', import.meta.url).pathname, address, namespace, taskQueue],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await untilReady(worker);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  return {
    openLoopTarget: {
      acceptedStatus: 202,
      arrivals,
      processes: () => ({ temporal: temporalPid, 'floor worker': worker.pid }),
      async send(eventId) {
        await client.workflow.start('floorSinkWorkflow', {
          taskQueue,
          workflowId: `floor-${eventId}`,
          args: [sinkUrl, eventId],
        });
        return 202;
      },
    },
    async stop() {
      await connection.close();
      await stopWorker(worker);
      await new Promise<void>((resolve) => sink.server.close(() => resolve()));
    },
  };
}

function untilReady(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the floor worker exited (${code}) before it polled`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString('utf8').includes('ready')) resolve();
    });
  });
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(killer);
}
