import { createRequire } from 'node:module';
import { createTraceState, type SpanContext } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { ReadableSpan, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { OpenTelemetrySinks, SerializableSpan } from '@temporalio/interceptors-opentelemetry';
import type { InjectedSinks } from '@temporalio/worker';
import type { WorkflowInfo } from '@temporalio/workflow';

/**
 * The workflow interceptors (spans for the run, and the `_tracer-data` header on the activities it schedules,
 * local ones included), for bundleWorkflowCode's `workflowInterceptorModules`. They are in the bundle whether
 * tracing is on or not: spans made in the sandbox reach the worker through the `exporter` sink, which drops
 * them when tracing is off.
 */
export const WORKFLOW_TRACING_INTERCEPTORS_PATH = createRequire(import.meta.url).resolve(
  '@temporalio/interceptors-opentelemetry/lib/workflow-interceptors',
);

/**
 * A span from the workflow sandbox as this SDK's exporters read it. The Temporal interceptors build their
 * sandbox spans with OpenTelemetry JS 1.x (`parentSpanId`, `instrumentationLibrary`); the exporters here are
 * 3.x (`parentSpanContext`, `instrumentationScope`). Only the run's identity is added, not the whole
 * WorkflowInfo (its memo and search attributes stay out of traces).
 */
export function workflowSpanToReadable(
  span: SerializableSpan,
  info: Pick<WorkflowInfo, 'workflowId' | 'runId' | 'workflowType' | 'taskQueue'>,
  resource: Resource,
): ReadableSpan {
  const { traceState, ...context } = span.spanContext;
  const spanContext: SpanContext = {
    ...context,
    ...(traceState ? { traceState: createTraceState(traceState) } : {}),
  };
  const parentSpanContext: SpanContext | undefined = span.parentSpanId
    ? { traceId: context.traceId, spanId: span.parentSpanId, traceFlags: context.traceFlags }
    : undefined;
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => spanContext,
    parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: span.status,
    attributes: {
      ...span.attributes,
      temporalWorkflowId: info.workflowId,
      run_id: info.runId,
      temporalWorkflowType: info.workflowType,
      temporalTaskQueue: info.taskQueue,
    },
    links: span.links,
    events: span.events,
    duration: span.duration,
    ended: span.ended,
    resource,
    instrumentationScope: {
      name: span.instrumentationLibrary.name,
      version: span.instrumentationLibrary.version,
      schemaUrl: span.instrumentationLibrary.schemaUrl,
    },
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** The worker's `exporter` sink: workflow spans join the process's export pipeline, or are dropped when off. */
export function workflowSpanSinks(
  pipeline: { processor: SpanProcessor; resource: Resource } | undefined,
): InjectedSinks<OpenTelemetrySinks> {
  return {
    exporter: {
      export: {
        fn: (info, spans) => {
          if (!pipeline) return;
          for (const span of spans)
            pipeline.processor.onEnd(workflowSpanToReadable(span, info, pipeline.resource));
        },
        // A replayed workflow re-creates spans already exported by its first run.
        callDuringReplay: false,
      },
    },
  };
}
