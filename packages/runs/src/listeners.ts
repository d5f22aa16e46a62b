import type { Workflow } from '@autoflow/db';
import type { ListenerWorkflow, ProviderRegistry } from '@autoflow/provider-registry';
import { TASK_QUEUES } from '@autoflow/workflow-contracts';
import type { Client } from '@temporalio/client';

/** The columns that say which listener, if any, a workflow's trigger needs. */
export type ListeningWorkflow = Pick<Workflow, 'triggerProvider' | 'triggerId' | 'triggerCredentialsId'>;

/**
 * Tells listener workflows (Gmail's mailbox workflow) that the workflows reading their account changed.
 * Signal-with-start: the first activation starts the listener, which then watches the account; after
 * the last deactivation it stops the watch and ends. The listener reads the database itself, so the
 * signal carries nothing and repeating it is harmless.
 */
export class TriggerListeners {
  constructor(private readonly deps: { temporal: Client; registry: ProviderRegistry }) {}

  #target(workflow: ListeningWorkflow): { listener: ListenerWorkflow; credentialId: number } | undefined {
    const listener = this.deps.registry.trigger(workflow.triggerProvider, workflow.triggerId)?.listener;
    if (!listener || workflow.triggerCredentialsId === null) return undefined;
    return { listener, credentialId: workflow.triggerCredentialsId };
  }

  async changed(...states: (ListeningWorkflow | undefined)[]): Promise<void> {
    const targets = new Map<string, { listener: ListenerWorkflow; credentialId: number }>();
    for (const state of states) {
      const target = state && this.#target(state);
      if (target) targets.set(target.listener.workflowId(target.credentialId), target);
    }
    await Promise.all(
      [...targets].map(([workflowId, { listener, credentialId }]) =>
        this.deps.temporal.workflow.signalWithStart(listener.workflowType, {
          workflowId,
          taskQueue: TASK_QUEUES.automation,
          args: [listener.input(credentialId)],
          signal: listener.subscriptionsChangedSignal,
          signalArgs: [],
        }),
      ),
    );
  }
}
