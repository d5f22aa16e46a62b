export { type TracingEnv, tracingEnv } from './env.js';
export { RedactingSpanProcessor, redactQuery, redactSpan, redactUrl } from './redaction.js';
export {
  parseKeyValueList,
  type SamplerName,
  type TracingDecision,
  type TracingSettings,
  tracingSettings,
} from './settings.js';
export { WORKFLOW_TRACING_INTERCEPTORS_PATH, workflowSpanSinks, workflowSpanToReadable } from './temporal.js';
export { type StartTracingOptions, startTracing, type Tracing } from './tracing.js';
