import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { ensureNamespace } from '@autoflow/local-stack';
import { Client, Connection } from '@temporalio/client';
import type { OpenLoopTarget } from '../openloop.js';
import { Rendezvous, startSink } from '../system.js';
import { type EagerStartAnswer, type EagerStartRequest, eagerStartAnswer } from './eager-start.js';

export interface FloorOpenLoop {
  openLoopTarget: OpenLoopTarget;
  /** Starts so far that the server handed straight back to the worker (the eager starter only). */
  eagerlyStarted(): number;
  stop(): Promise<void>;
}

/**
 * Who starts the floor's workflows: a client in the bench process, as trigger-ingest starts the system's
 * runs, or the worker's own process with eager workflow start (what the system would pay if its worker
 * started the runs itself).
 */
export type FloorStarter = 'client' | 'worker-eager';

/**
 * The least a Temporal-backed run can cost under the open loop: a client starts a workflow whose one
 * local activity posts the event to the sink, run by a bare worker in its own process. No webhook, no
 * records, no codec: what the same server and machine give before any of the system's code.
 */
export async function startFloorOpenLoop(
  address: string,
  temporalPid: number | undefined,
  starter: FloorStarter = 'client',
): Promise<FloorOpenLoop> {
  const namespace = `floor-open-${randomUUID().slice(0, 8)}`;
  await ensureNamespace(address, namespace);
  const taskQueue = 'floor-open';
  const arrivals = new Rendezvous<number>();
  const sink = await startSink(arrivals, /"seq":"?([\w-]+)/);
  const sinkUrl = `http://${sink.hostPort}/sink`;
  const workerArgs = [
    new URL('./worker-process.js', import.meta.url).pathname,
    address,
    namespace,
    taskQueue,
  ];
  if (starter === 'worker-eager') workerArgs.push('--start-eagerly');
  const worker = spawn(process.execPath, workerArgs, { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  await untilReady(worker);
  const starts =
    starter === 'worker-eager'
      ? eagerStarter(worker, sinkUrl)
      : await clientStarter(address, namespace, taskQueue, sinkUrl);
  return {
    openLoopTarget: {
      acceptedStatus: 202,
      arrivals,
      processes: () => ({ temporal: temporalPid, 'floor worker': worker.pid }),
      async send(eventId) {
        await starts.start(eventId);
        return 202;
      },
    },
    eagerlyStarted: starts.eagerlyStarted,
    async stop() {
      await starts.close();
      await stopWorker(worker);
      await new Promise<void>((resolve) => sink.server.close(() => resolve()));
    },
  };
}

/** Starts the floor workflow for one event; resolves once the server has it (a throw counts as refused). */
interface FloorStarts {
  start(eventId: string): Promise<void>;
  eagerlyStarted(): number;
  close(): Promise<void>;
}

/** A client in the bench process, on a connection of its own. */
async function clientStarter(
  address: string,
  namespace: string,
  taskQueue: string,
  sinkUrl: string,
): Promise<FloorStarts> {
  const connection = await Connection.connect({ address });
  const client = new Client({ connection, namespace });
  return {
    async start(eventId) {
      await client.workflow.start('floorSinkWorkflow', {
        taskQueue,
        workflowId: `floor-${eventId}`,
        args: [sinkUrl, eventId],
      });
    },
    eagerlyStarted: () => 0,
    close: () => connection.close(),
  };
}

/** The worker process's own client, asked over IPC; it starts with eager workflow start. */
function eagerStarter(worker: ChildProcess, sinkUrl: string): FloorStarts {
  const answers = new Rendezvous<EagerStartAnswer>();
  let eagerlyStarted = 0;
  worker.on('message', (message: unknown) => {
    const answer = eagerStartAnswer.parse(message);
    answers.arrive(answer.workflowId, answer);
  });
  return {
    async start(eventId) {
      const request: EagerStartRequest = { workflowId: `floor-${eventId}`, sinkUrl, eventId };
      const answered = answers.wait(request.workflowId);
      worker.send(request);
      const answer = await answered;
      if ('error' in answer) throw new Error(answer.error);
      if (answer.eagerlyStarted) eagerlyStarted++;
    },
    eagerlyStarted: () => eagerlyStarted,
    // The worker process owns the client; stopping the worker closes it.
    close: async () => {},
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
