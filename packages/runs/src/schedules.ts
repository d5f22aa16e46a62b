import type { Workflow } from '@autoflow/db';
import { type ProviderRegistry, toJson } from '@autoflow/provider-registry';
import { scheduleId, TASK_QUEUES, WORKFLOW_TYPES } from '@autoflow/workflow-contracts';
import {
  type Client,
  ScheduleNotFoundError,
  type ScheduleOptionsAction,
  ScheduleOverlapPolicy,
  type ScheduleSpec,
} from '@temporalio/client';
import type { RunStarter } from './index.js';

/** What a schedule is built from: the workflow row. */
export type ScheduledWorkflow = Pick<
  Workflow,
  | 'id'
  | 'userId'
  | 'triggerProvider'
  | 'triggerId'
  | 'triggerConfig'
  | 'actionProvider'
  | 'actionId'
  | 'actionConfig'
  | 'actionCredentialsId'
  | 'isActive'
>;

const CATCHUP_WINDOW = '1 minute';

export interface ScheduleManagerDeps {
  temporal: Client;
  registry: ProviderRegistry;
  runs: RunStarter;
}

/**
 * One Temporal Schedule per workflow with a schedule trigger (`schedule:{workflowId}`): created on
 * activation, paused on deactivation (also when a credential it uses is deleted), updated on edit,
 * deleted with the workflow. Overlapping fires are
 * skipped; fires missed during an outage are caught up within a minute.
 */
export class ScheduleManager {
  constructor(private readonly deps: ScheduleManagerDeps) {}

  isScheduled(workflow: Pick<Workflow, 'triggerProvider' | 'triggerId'>): boolean {
    return this.deps.registry.trigger(workflow.triggerProvider, workflow.triggerId)?.kind === 'schedule';
  }

  private spec(workflow: ScheduledWorkflow): ScheduleSpec {
    const config = toJson(workflow.triggerConfig);
    if (typeof config !== 'object' || config === null || Array.isArray(config))
      throw new Error('schedule config missing');
    if (typeof config.cron === 'string') {
      return {
        cronExpressions: [config.cron],
        ...(typeof config.timezone === 'string' ? { timezone: config.timezone } : {}),
      };
    }
    if (typeof config.every === 'string') return { intervals: [{ every: config.every }] };
    throw new Error('a schedule needs cron or every');
  }

  private action(workflow: ScheduledWorkflow): ScheduleOptionsAction {
    return {
      type: 'startWorkflow',
      workflowType: WORKFLOW_TYPES.automation,
      taskQueue: TASK_QUEUES.automation,
      // Temporal appends the scheduled time: one run per fire time.
      workflowId: `run:${workflow.id}:schedule`,
      // The trigger data (the scheduled time) is read by the run itself.
      args: [this.deps.runs.buildInput({ workflow, source: 'schedule', triggerData: null })],
    };
  }

  /** Makes the workflow's schedule match its row. */
  async sync(workflow: ScheduledWorkflow): Promise<void> {
    if (!this.isScheduled(workflow)) return this.remove(workflow.id);
    const handle = this.deps.temporal.schedule.getHandle(scheduleId(workflow.id));
    const spec = this.spec(workflow);
    const action = this.action(workflow);
    const policies = { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: CATCHUP_WINDOW };
    try {
      await handle.update((previous) => ({
        ...previous,
        spec,
        action,
        policies,
        state: { ...previous.state, paused: !workflow.isActive },
      }));
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
      if (!workflow.isActive) return;
      await this.deps.temporal.schedule.create({
        scheduleId: scheduleId(workflow.id),
        spec,
        action,
        policies,
        state: { paused: false },
      });
    }
  }

  /**
   * Stops the schedule firing, keeping it for a later activation (which `sync` resumes). Pausing the
   * schedule of a workflow that has none is a no-op.
   */
  async pause(workflowId: number, reason: string): Promise<void> {
    try {
      await this.deps.temporal.schedule.getHandle(scheduleId(workflowId)).pause(reason);
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
  }

  async remove(workflowId: number): Promise<void> {
    try {
      await this.deps.temporal.schedule.getHandle(scheduleId(workflowId)).delete();
    } catch (error) {
      if (!(error instanceof ScheduleNotFoundError)) throw error;
    }
  }
}
