/** A WORKER_TASK_QUEUES entry that no worker of this build serves. */
export class UnknownTaskQueueError extends Error {
  constructor(unknown: readonly string[], known: readonly string[]) {
    super(`unknown task queue(s) ${unknown.join(', ')} in WORKER_TASK_QUEUES; known: ${known.join(', ')}`);
    this.name = 'UnknownTaskQueueError';
  }
}

/**
 * The task queues this worker process serves, in the order of `known`: every known queue for `all` (or
 * an empty setting), otherwise the comma-separated names. A typo must not leave a queue unserved
 * silently, so an unknown name stops the start.
 */
export function selectTaskQueues(setting: string, known: readonly string[]): string[] {
  const names = setting
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name !== '');
  if (names.length === 0 || (names.length === 1 && names[0] === 'all')) return [...known];
  const unknown = names.filter((name) => !known.includes(name));
  if (unknown.length > 0) throw new UnknownTaskQueueError(unknown, known);
  return known.filter((name) => names.includes(name));
}
