import { spawn } from 'node:child_process';
import { Connection, Client } from '@temporalio/client';
import { Worker, NativeConnection } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
const fair = process.argv[2] === 'fair';
const args = ['server','start-dev','--ip','127.0.0.1','--port','17391','--headless','--log-level','warn',
 '--dynamic-config-value','history.transferProcessorMaxPollRPS=1000','--dynamic-config-value','history.timerProcessorMaxPollRPS=1000'];
if (fair) args.push('--dynamic-config-value','matching.enableFairness=true');
const server = spawn('/work/main/.tools/bin/temporal', args, { stdio: 'ignore' });
try {
  let connection;
  for (let i=0;i<100;i++){ try { connection = await Connection.connect({address:'127.0.0.1:17391'}); await connection.workflowService.getSystemInfo({}); break;} catch { await new Promise(r=>setTimeout(r,300)); } }
  const client = new Client({ connection });
  if (process.argv[3] === 'cfg') {
    const r = await connection.workflowService.updateTaskQueueConfig({ namespace: 'default', identity: 'x', taskQueue: 'fq', taskQueueType: 2,
      updateFairnessKeyRateLimitDefault: { rateLimit: { requestsPerSecond: 1 }, reason: 'per account' },
      updateQueueRateLimit: { rateLimit: { requestsPerSecond: 50 }, reason: 'q' } });
    console.log('config', JSON.stringify(r.config));
  }
  const nc = await NativeConnection.connect({ address: '127.0.0.1:17391' });
  const seen = [];
  const t0 = Date.now();
  const wfWorker = await Worker.create({ connection: nc, taskQueue: 'wq', workflowsPath: fileURLToPath(new URL('./wf.mjs', import.meta.url)) });
  const actWorker = await Worker.create({ connection: nc, taskQueue: 'fq', activities: { async touch(k) { seen.push([k, Date.now()-t0]); } },
    ...(process.argv[3] === 'cfg' ? {} : { maxTaskQueueActivitiesPerSecond: 1 }) });
  const running = Promise.all([wfWorker.run(), actWorker.run()]);
  const hs = [];
  for (let i=0;i<15;i++) hs.push(await client.workflow.start('fairWf', { taskQueue: 'wq', workflowId: 'a'+i, args: ['A'] }));
  await new Promise(r=>setTimeout(r,2000));
  const tb = Date.now()-t0;
  hs.push(await client.workflow.start('fairWf', { taskQueue: 'wq', workflowId: 'b', args: ['B'] }));
  hs.push(await client.workflow.start('fairWf', { taskQueue: 'wq', workflowId: 'c', args: ['C'] }));
  await Promise.all(hs.map(h=>h.result()));
  console.log('B started at', tb, 'seen', JSON.stringify(seen));
  wfWorker.shutdown(); actWorker.shutdown(); await running; await nc.close(); await connection.close();
} finally { server.kill('SIGTERM'); }
