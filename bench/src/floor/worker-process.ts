// The open loop's floor worker, in a process of its own as the system's worker is:
// `node worker-process.js <address> <namespace> <taskQueue>`; prints `ready` once it polls.
import { fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import * as activities from './activities.js';

const [address, namespace, taskQueue] = process.argv.slice(2);
if (!address || !namespace || !taskQueue)
  throw new Error('usage: worker-process <address> <namespace> <taskQueue>');
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
// The SDK stops the worker on SIGTERM; run() then resolves.
const running = worker.run();
console.log('ready');
await running;
await connection.close();
