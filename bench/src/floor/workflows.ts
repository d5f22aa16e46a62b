import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type * as activities from './activities.js';

const remote = proxyActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });
const local = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

/** The raw floor: one activity on the workflow's own queue. */
export async function floorActivityWorkflow(value: number): Promise<number> {
  return remote.echo(value);
}

/** The same with a local activity: one workflow task, no activity dispatch. */
export async function floorLocalActivityWorkflow(value: number): Promise<number> {
  return local.echo(value);
}

const sinkCall = proxyLocalActivities<typeof activities>({ startToCloseTimeout: '10 seconds' });

/** The open loop's floor: one local activity that posts the event to the sink, as the system's run does. */
export async function floorSinkWorkflow(sinkUrl: string, eventId: string): Promise<void> {
  await sinkCall.postToSink(sinkUrl, eventId);
}
