// Build step: bundles the workflow code once, so workers start without webpack (samples-typescript's
// production-worker pattern). Run by `pnpm build` after tsc.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FAILURE_CONVERTER_PATH } from '@autoflow/temporal-codec';
import { WORKFLOW_TRACING_INTERCEPTORS_PATH } from '@autoflow/tracing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOW_BUNDLE_PATH } from './worker.js';

const { code } = await bundleWorkflowCode({
  workflowsPath: fileURLToPath(new URL('./workflows/index.js', import.meta.url)),
  // Workflow failures carry their message and stack in encoded (then encrypted) attributes.
  failureConverterPath: FAILURE_CONVERTER_PATH,
  // OpenTelemetry spans for the run and the activities it schedules; the worker's sink drops them when tracing is off.
  workflowInterceptorModules: [WORKFLOW_TRACING_INTERCEPTORS_PATH],
  logger: {
    info: () => {},
    warn: console.warn,
    error: console.error,
    debug: () => {},
    trace: () => {},
    log: () => {},
  },
});
await writeFile(WORKFLOW_BUNDLE_PATH, code);
console.log(`workflow bundle written to ${WORKFLOW_BUNDLE_PATH} (${(code.length / 1024).toFixed(0)} KiB)`);
