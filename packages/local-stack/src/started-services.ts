/** Raised by `StartedServices.start` when the command began stopping while the service started. */
export class StoppingError extends Error {
  constructor() {
    super('stopping');
  }
}

/**
 * What a command started, stopped in reverse order on every way out: a signal, a failed step, an app
 * that exited. A service still starting when stopping begins is waited for, then stopped too.
 */
export class StartedServices {
  readonly #stops: (() => Promise<void>)[] = [];
  readonly #starting = new Set<Promise<unknown>>();
  #stopped: Promise<void> | undefined;

  get stopping(): boolean {
    return this.#stopped !== undefined;
  }

  /** Waits for a service to start and keeps its stop; throws StoppingError if stopping began meanwhile. */
  async start<T extends { stop(): Promise<void> }>(starting: Promise<T>): Promise<T> {
    const tracked = starting.then((service) => {
      this.#stops.push(() => service.stop());
      return service;
    });
    this.#starting.add(tracked);
    try {
      const service = await tracked;
      if (this.stopping) throw new StoppingError();
      return service;
    } finally {
      this.#starting.delete(tracked);
    }
  }

  /** Keeps the stop of something already running (a spawned process). */
  add(stop: () => Promise<void>): void {
    if (this.stopping) throw new StoppingError();
    this.#stops.push(stop);
  }

  /** Stops everything once, however often it is called; failures are reported and the rest still stopped. */
  stopAll(onError: (error: unknown) => void): Promise<void> {
    this.#stopped ??= (async () => {
      await Promise.allSettled([...this.#starting]);
      for (const stop of this.#stops.reverse()) await stop().catch(onError);
    })();
    return this.#stopped;
  }
}
