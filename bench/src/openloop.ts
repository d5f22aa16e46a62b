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
  /** Where the time went (targets with `runStarts`): the median event's stages, and the slowest 1%'s mean. */
  stages?: { median: Stages; slowest: Stages; slowestCount: number };
}

/** One event's path in ms: scheduled send → run accepted → action began → request at the sink. */
export interface Stages {
  toAccepted: number;
  acceptedToAction: number;
  actionToSink: number;
}

interface TimedEvent {
  eventId: string;
  scheduled: number;
  arrived: number;
}

/**
 * The stages of the median event (each stage's own median) and the mean stages of the slowest 1% (at
 * least 3 events) by total time. Times come from two clocks on one host: the bench's
 * (`performance.timeOrigin` based) and the target's records (Temporal's start time, the worker's).
 */
export function stageSplit(
  events: readonly TimedEvent[],
  runStarts: ReadonlyMap<string, { acceptedAt: number; actionStartedAt: number }>,
): OpenLoopResult['stages'] {
  const epoch = (at: number) => performance.timeOrigin + at;
  const split = events.flatMap((event) => {
    const run = runStarts.get(event.eventId);
    if (!run) return [];
    return [
      {
        total: event.arrived - event.scheduled,
        toAccepted: run.acceptedAt - epoch(event.scheduled),
        acceptedToAction: run.actionStartedAt - run.acceptedAt,
        actionToSink: epoch(event.arrived) - run.actionStartedAt,
      },
    ];
  });
  if (split.length === 0) return undefined;
  const slowest = [...split]
    .sort((a, b) => b.total - a.total)
    .slice(0, Math.max(3, Math.ceil(split.length / 100)));
  const median = (values: number[]) => summarize(values).p50;
  const mean = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length;
  const stagesBy = (reduce: (values: number[]) => number, of: typeof split): Stages => ({
    toAccepted: reduce(of.map((event) => event.toAccepted)),
    acceptedToAction: reduce(of.map((event) => event.acceptedToAction)),
    actionToSink: reduce(of.map((event) => event.actionToSink)),
  });
  return { median: stagesBy(median, split), slowest: stagesBy(mean, slowest), slowestCount: slowest.length };
}

export interface OpenLoopTarget {
  /** Sends one event to the webhook; resolves with the HTTP status. The generator does not wait for it. */
  send(eventId: string): Promise<number>;
  /** The status a webhook answers when it has taken the event. */
  acceptedStatus: number;
  /** Resolves with the `performance.now()` at which the event reached the sink. */
  arrivals: Rendezvous<number>;
  /**
   * When each event's run was accepted and its action began (epoch ms, from the target's own records),
   * by event id: where the time goes, for the stage split. Targets without such records leave it out.
   */
  runStarts?(
    eventIds: readonly string[],
  ): Promise<Map<string, { acceptedAt: number; actionStartedAt: number }>>;
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
  const timed: TimedEvent[] = [];
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
        timed.push({ eventId, scheduled, arrived: at });
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
  const runStarts = await target.runStarts?.(timed.map((event) => event.eventId));
  const stages = runStarts ? stageSplit(timed, runStarts) : undefined;
  return {
    ...(stages ? { stages } : {}),
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
