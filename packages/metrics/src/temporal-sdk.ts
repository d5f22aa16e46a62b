// The Temporal SDK's own worker metrics (slots, polls, schedule-to-start latency), exported by its Rust
// core on a Prometheus endpoint of its own: these options are passed to Runtime.install.

/**
 * Prometheus exporter options for Runtime.install's `telemetryOptions.metrics`: counters end in `_total`
 * and durations are in seconds, like the autoflow_* metrics, so that one dashboard reads both.
 */
export function temporalSdkPrometheus(bindAddress: string) {
  return {
    prometheus: { bindAddress, countersTotalSuffix: true, useSecondsForDurations: true },
  } as const;
}

/**
 * The SDK metrics the dashboard reads, as its exporter names them with the options above (histograms
 * appear as `_bucket`, `_sum`, `_count`). The worker e2e test scrapes a worker and finds each of them, so
 * an SDK upgrade that renames one fails a test instead of blanking a panel.
 */
export const TEMPORAL_SDK_METRICS = [
  'temporal_worker_task_slots_available',
  'temporal_worker_task_slots_used',
  'temporal_num_pollers',
  'temporal_workflow_task_queue_poll_succeed_total',
  'temporal_activity_task_received_total',
  'temporal_activity_schedule_to_start_latency',
  'temporal_workflow_task_schedule_to_start_latency',
  'temporal_activity_execution_latency',
  'temporal_workflow_task_execution_latency',
  'temporal_request_total',
] as const;

/**
 * The metric a name in a query refers to: a histogram's `_bucket`, `_sum` and `_count` series belong
 * to the histogram's name.
 */
export function baseMetricName(seriesName: string): string {
  return seriesName.replace(/_(bucket|sum|count)$/, '');
}
