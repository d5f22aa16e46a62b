import { type CpuSnapshot, cpuPerRun, cpuSnapshot } from './cpu.js';
import { type LatencySummary, summarize } from './stats.js';
import type { Rendezvous } from './system.js';

/** One fixed offered rate, open loop: what arrived at the sink, and how late against its schedule. */
export interface OpenLoopResult {
  offeredPerSecond: number;
  seconds: number;
  sent: number;
  /**
   * What the target kept up with: the events that arrived, per second from the first scheduled send to
   * the moment 99% of them had arrived (or over the window, if that came within it). The last 1% do not
   * set the clock, so that one straggler (a retried action, say) does not stand for the rate; a target
   * that falls behind delays the bulk of the events, and this rate drops with them.
   */
  achievedPerSecond: number;
  /** Arrivals per second up to the very last arrival (the stricter reading, stragglers included). */
  achievedPerSecondToLastArrival: number;
  /** Scheduled send → arrival at the sink, for every event that arrived before the drain deadline. */
  latency: LatencySummary;
  /** Scheduled send → the webhook's answer, for every event it took: where the time before the sink goes. */
  answered: LatencySummary;
  /** Events that never arrived (or the webhook refused) before the drain deadline. */
  lost: number;
  /** Webhook answers other than the expected status, and failed requests. */
  refused: number;
  /** What the refusals were: HTTP status, or `error` for a failed request, with counts. */
  refusedBy: Record<string, number>;
  /**
   * CPU ms per arrived event, by process, from the first send until the last event settled: at rates the
   * target keeps up with, what one event costs it (Postgres counts every process of the cluster).
   */
  cpuMsPerEvent: Record<string, number>;
}

export interface OpenLoopTarget {
  /** Sends one event to the webhook; resolves with the HTTP status. The generator does not wait for it. */
  send(eventId: string): Promise<number>;
  /** The status a webhook answers when it has taken the event. */
  acceptedStatus: number;
  /** Resolves with the `performance.now()` at which the event reached the sink. */
  arrivals: Rendezvous<number>;
  /** The target's own processes by name, for the CPU per event. */
  processes(): Record<string, number | undefined>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/**
 * Sends at `rate` events per second for `seconds`, each on its own schedule whether or not earlier ones
 * were answered, and measures each event from its scheduled send time, so that a falling-behind
 * generator or a queueing target shows up as latency instead of being hidden (coordinated omission).
 */
export async function openLoop(
  target: OpenLoopTarget,
  options: { rate: number; seconds: number; prefix: string; drainSeconds?: number },
): Promise<OpenLoopResult> {
  const { rate, seconds, prefix } = options;
  const total = Math.max(1, Math.round(rate * seconds));
  const start = performance.now() + 20;
  const latencies: number[] = [];
  const answerLatencies: number[] = [];
  const arrivals: number[] = [];
  let refused = 0;
  const refusedBy: Record<string, number> = {};
  // Everything sent gets a fixed time to arrive after the window; what is later than that counts as lost.
  let drainTimer: NodeJS.Timeout | undefined;
  const drainDeadline = new Promise<undefined>((resolve) => {
    drainTimer = setTimeout(
      () => resolve(undefined),
      start - performance.now() + (seconds + (options.drainSeconds ?? 30)) * 1000,
    );
  });
  const pending: Promise<void>[] = [];
  const cpuBefore: CpuSnapshot = await cpuSnapshot(target.processes());
  for (let index = 0; index < total; index++) {
    const scheduled = start + (index * 1000) / rate;
    await sleep(scheduled - performance.now());
    const eventId = `${prefix}-${index}`;
    const arrived = target.arrivals.wait(eventId);
    const answered = target.send(eventId).then(
      (status) => String(status),
      () => 'error',
    );
    pending.push(
      answered.then(async (status) => {
        if (status !== String(target.acceptedStatus)) {
          refused++;
          refusedBy[status] = (refusedBy[status] ?? 0) + 1;
          return;
        }
        answerLatencies.push(performance.now() - scheduled);
        const at = await Promise.race([arrived, drainDeadline]);
        if (at === undefined) return;
        latencies.push(at - scheduled);
        arrivals.push(at);
      }),
    );
  }
  await Promise.all(pending);
  const cpuMsPerEvent = cpuPerRun(cpuBefore, await cpuSnapshot(target.processes()), arrivals.length);
  clearTimeout(drainTimer);
  arrivals.sort((a, b) => a - b);
  const ratePerSecond = (count: number, lastAt: number) => count / Math.max(seconds, (lastAt - start) / 1000);
  const ninetyNinthArrival = arrivals[Math.ceil(arrivals.length * 0.99) - 1] ?? start;
  return {
    offeredPerSecond: rate,
    seconds,
    sent: total,
    achievedPerSecond: ratePerSecond(arrivals.length, ninetyNinthArrival),
    achievedPerSecondToLastArrival: ratePerSecond(arrivals.length, arrivals.at(-1) ?? start),
    latency: summarize(latencies),
    answered: summarize(answerLatencies),
    lost: total - latencies.length - refused,
    refused,
    refusedBy,
    cpuMsPerEvent,
  };
}
