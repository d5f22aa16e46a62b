// Build step: bundles the workflow code once, so workers start without webpack (samples-typescript's
// production-worker pattern). Run by `pnpm build` after tsc.
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { FAILURE_CONVERTER_PATH } from '@autoflow/temporal-codec';
import { WORKFLOW_TRACING_INTERCEPTORS_PATH } from '@autoflow/tracing';
import { bundleWorkflowCode } from '@temporalio/worker';
import { TRACED_WORKFLOW_BUNDLE_PATH, WORKFLOW_BUNDLE_PATH } from './worker.js';

// Two bundles: the OpenTelemetry workflow interceptors make spans on every activation and nearly double
// the bundle, so a worker without tracing loads the plain one (replay is the same: spans leave through
// sinks and headers, never as commands).
const silent = {
  info: () => {},
  warn: console.warn,
  error: console.error,
  debug: () => {},
  trace: () => {},
  log: () => {},
};
for (const [path, interceptors] of [
  [WORKFLOW_BUNDLE_PATH, []],
  [TRACED_WORKFLOW_BUNDLE_PATH, [WORKFLOW_TRACING_INTERCEPTORS_PATH]],
] satisfies [string, string[]][]) {
  const { code } = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('./workflows/index.js', import.meta.url)),
    // Workflow failures carry their message and stack in encoded (then encrypted) attributes.
    failureConverterPath: FAILURE_CONVERTER_PATH,
    // Spans for the run and the activities it schedules, handed to the worker's sink.
    workflowInterceptorModules: interceptors,
    logger: silent,
  });
  await writeFile(path, code);
  console.log(`workflow bundle written to ${path} (${(code.length / 1024).toFixed(0)} KiB)`);
}
