import { LOCAL_BUDGET_EXHAUSTED } from '@autoflow/workflow-contracts';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';

/**
 * How many local actions each tenant may run at once in this worker process. A local action holds a
 * workflow-task slot while it runs, so without a share one tenant's slow targets could hold them all
 * (design notes §11, slow targets).
 */
export class TenantLocalBudget {
  readonly #running = new Map<number, number>();

  constructor(readonly perTenant: number) {}

  /** A release function, or undefined when the tenant already runs its share. */
  tryAcquire(tenant: number): (() => void) | undefined {
    const running = this.#running.get(tenant) ?? 0;
    if (running >= this.perTenant) return undefined;
    this.#running.set(tenant, running + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.#running.get(tenant) ?? 1) - 1;
      if (left > 0) this.#running.set(tenant, left);
      else this.#running.delete(tenant);
    };
  }

  running(tenant: number): number {
    return this.#running.get(tenant) ?? 0;
  }
}

/** The tenant of a `runRecordedAction` input (`{action: {userId}}`), read without trusting its shape. */
function tenantOf(args: readonly unknown[]): number | undefined {
  const [input] = args;
  if (typeof input !== 'object' || input === null || !('action' in input)) return undefined;
  const { action } = input;
  if (typeof action !== 'object' || action === null || !('userId' in action)) return undefined;
  return typeof action.userId === 'number' ? action.userId : undefined;
}

/**
 * Refuses a local attempt of `activityType` at once, with LOCAL_BUDGET_EXHAUSTED, when its tenant already
 * runs its share; the workflow then runs the action as a regular activity and frees the slot.
 */
export function localBudgetInterceptor(
  budget: TenantLocalBudget,
  activityType: string,
): ActivityInterceptorsFactory {
  return (context) => ({
    inbound: {
      async execute(input, next) {
        if (!context.info.isLocal || context.info.activityType !== activityType) return next(input);
        const tenant = tenantOf(input.args);
        if (tenant === undefined) return next(input);
        const release = budget.tryAcquire(tenant);
        if (!release)
          throw ApplicationFailure.create({
            message: `tenant ${tenant} already runs ${budget.perTenant} local actions in this worker`,
            type: LOCAL_BUDGET_EXHAUSTED,
            nonRetryable: true,
          });
        try {
          return await next(input);
        } finally {
          release();
        }
      },
    },
  });
}
