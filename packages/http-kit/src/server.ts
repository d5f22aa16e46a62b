import type { FastifyInstance } from 'fastify';

export interface ListenOptions {
  port: number;
  host: string;
  /** At SIGTERM/SIGINT, how long in-flight requests may take to finish before the process exits 1. */
  shutdownGraceMs: number;
}

/**
 * Listens, then closes the app on SIGTERM/SIGINT: Fastify stops accepting, finishes in-flight
 * requests and runs every onClose hook (database pools, Temporal connections), then the process exits 0.
 * While it closes, Fastify (5, by default) answers a request arriving on a kept-alive connection with
 * 503 and `Connection: close`, and closes idle kept-alive connections: no answer is cut off mid-way.
 * If closing takes longer than the grace, the process exits 1.
 */
export async function listenUntilSignalled(app: FastifyInstance, options: ListenOptions): Promise<void> {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal, graceMs: options.shutdownGraceMs }, 'shutting down');
    const forceExit = setTimeout(() => {
      app.log.error({ graceMs: options.shutdownGraceMs }, 'in-flight requests outlived the shutdown grace');
      process.exit(1);
    }, options.shutdownGraceMs).unref();
    app.close().then(
      () => {
        clearTimeout(forceExit);
        process.exit(0);
      },
      (error: unknown) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  await app.listen({ port: options.port, host: options.host });
}
