import type { FastifyInstance } from 'fastify';

/**
 * Listens, then closes the app on SIGTERM/SIGINT: Fastify stops accepting, finishes in-flight
 * requests and runs every onClose hook (database pools, Temporal connections).
 */
export async function listenUntilSignalled(app: FastifyInstance, port: number, host: string): Promise<void> {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const forceExit = setTimeout(() => process.exit(1), 10_000).unref();
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
  await app.listen({ port, host });
}
