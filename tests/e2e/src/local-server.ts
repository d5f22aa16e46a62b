import { createServer, type RequestListener, type Server } from 'node:http';

/** An HTTP server on a free loopback port, for the fakes of internet services. */
export async function startLocalServer(
  listener: RequestListener,
): Promise<{ server: Server; port: number; stop(): Promise<void> }> {
  const server = createServer(listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    server,
    port: typeof address === 'object' && address ? address.port : 0,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
