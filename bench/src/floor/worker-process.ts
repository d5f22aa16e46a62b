// The open loop's floor worker, in a process of its own as the system's worker is:
// `node worker-process.js <address> <namespace> <taskQueue> [--start-eagerly]`; prints `ready` once it polls.
// With --start-eagerly it also starts the floor's workflows itself, asked over IPC (`EagerStartRequest`),
// with eager workflow start: the server hands the first workflow task back in the start's answer, to this
// worker, instead of dispatching it through matching. The SDK allows that only to a client on the worker's
// own connection, hence the starter in this process.
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import * as activities from './activities.js';
import { type EagerStartAnswer, eagerStartRequest } from './eager-start.js';

const [address, namespace, taskQueue, startFlag] = process.argv.slice(2);
if (!address || !namespace || !taskQueue)
  throw new Error('usage: worker-process <address> <namespace> <taskQueue> [--start-eagerly]');
// Warnings only: the bundler's report would fill the bench's log.
Runtime.install({ logger: new DefaultLogger('WARN') });
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({
  connection,
  namespace,
  taskQueue,
  workflowsPath: fileURLToPath(new URL('./workflows.js', import.meta.url)),
  activities,
  maxConcurrentWorkflowTaskExecutions: 40,
  maxConcurrentLocalActivityExecutions: 100,
});
if (startFlag === '--start-eagerly') {
  const client = new Client({ connection, namespace });
  process.on('message', async (message: unknown) => {
    const request = eagerStartRequest.parse(message);
    let answer: EagerStartAnswer;
    try {
      const handle = await client.workflow.start('floorSinkWorkflow', {
        taskQueue,
        workflowId: request.workflowId,
        args: [request.sinkUrl, request.eventId],
        requestEagerStart: true,
      });
      answer = { workflowId: request.workflowId, eagerlyStarted: handle.eagerlyStarted };
    } catch (error) {
      answer = { workflowId: request.workflowId, error: String(error) };
    }
    process.send?.(answer);
  });
}
// The SDK stops the worker on SIGTERM; run() then resolves.
const running = worker.run();
console.log('ready');
await running;
await connection.close();
// The IPC channel would keep the process alive.
process.disconnect?.();
