import { createServer, type IncomingMessage, type RequestListener, type Server } from 'node:http';

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

export interface FakeAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

/** A fake internet service: subclasses answer each request from its method, URL, headers and raw body. */
export abstract class FakeServer {
  port = 0;
  #stop: (() => Promise<void>) | undefined;

  protected abstract answer(request: IncomingMessage, rawBody: string): FakeAnswer | Promise<FakeAnswer>;

  async start(): Promise<void> {
    const running = await startLocalServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        void Promise.resolve(this.answer(request, Buffer.concat(chunks).toString('utf8'))).then((answer) => {
          response.writeHead(answer.status, answer.headers ?? {});
          response.end(answer.body ?? '');
        });
      });
    });
    this.port = running.port;
    this.#stop = running.stop;
  }

  async stop(): Promise<void> {
    await this.#stop?.();
  }
}
