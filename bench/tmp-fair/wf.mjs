import { proxyActivities } from '@temporalio/workflow';
export async function fairWf(key) {
  const { touch } = proxyActivities({ taskQueue: 'fq', startToCloseTimeout: '1 minute', priority: { fairnessKey: key } });
  return touch(key);
}
