import { describe, expect, it } from 'vitest';
import { TenantLocalBudget } from './local-budget.js';

describe('TenantLocalBudget', () => {
  it('gives each tenant its own share and takes a slot back once', () => {
    const budget = new TenantLocalBudget(2);
    const first = budget.tryAcquire(1);
    const second = budget.tryAcquire(1);
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(budget.tryAcquire(1)).toBeUndefined();
    // Another tenant is not affected by the first one's share.
    expect(budget.tryAcquire(2)).toBeDefined();

    first?.();
    first?.();
    expect(budget.running(1)).toBe(1);
    expect(budget.tryAcquire(1)).toBeDefined();
    expect(budget.tryAcquire(1)).toBeUndefined();
  });
});
