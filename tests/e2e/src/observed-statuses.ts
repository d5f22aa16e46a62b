import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { readOpenApiDocument } from '@autoflow/client';

// Every answer an app gives the suite is recorded (method, path, status), one JSON line per answer, in a
// file of the test worker's own (files may run in parallel). After the run, global-setup checks each
// against the committed OpenAPI document: no route may answer a status the document omits.

export interface ObservedAnswer {
  method: string;
  path: string;
  status: number;
  /** The test file that saw it, to find it again. */
  file: string;
}

/** Origins of the apps the running test started; answers from anything else (fakes, sinks) are not ours. */
const appOrigins = new Set<string>();

let directory: string | undefined;
let testFile = '';

export function startRecording(options: { directory: string; testFile: string; origins: string[] }): void {
  directory = options.directory;
  testFile = options.testFile;
  for (const origin of options.origins) appOrigins.add(origin);
}

export function recordAnswer(method: string, url: string, status: number): void {
  const parsed = new URL(url);
  recordRawAnswer(method, parsed.origin, parsed.pathname, status);
}

/** For requests sent byte for byte (the fuzz test): the path exactly as the app saw it, without its query. */
export function recordRawAnswer(method: string, origin: string, rawPath: string, status: number): void {
  if (!directory || !appOrigins.has(origin)) return;
  const path = rawPath.split('?')[0] ?? rawPath;
  const answer: ObservedAnswer = { method: method.toUpperCase(), path, status, file: testFile };
  mkdirSync(directory, { recursive: true });
  appendFileSync(join(directory, `${process.pid}-${threadId}.jsonl`), `${JSON.stringify(answer)}\n`);
}

/**
 * Wraps the global `fetch` of a test worker so that every answer an app gives it is recorded, whoever
 * sent the request (the typed client, the `http` helper, a test's own call). Installed by the setup file.
 */
export function installFetchRecorder(): void {
  const original = globalThis.fetch;
  globalThis.fetch = async (input, init) => {
    const request = input instanceof Request ? input : undefined;
    const url = request ? request.url : input instanceof URL ? input.href : String(input);
    const method = init?.method ?? request?.method ?? 'GET';
    // The typed client (openapi-fetch) always hands fetch a Request; a raw call passes a URL.
    if (!request) refuseRawApiCall(method, url);
    const response = await original(input, init);
    recordAnswer(method, url, response.status);
    return response;
  };
}

let apiOperations: Operations | undefined;

/**
 * Whether `method path` is an operation of the committed document under /api: what the e2e tests must
 * send through @autoflow/client, so that a contract change breaks their build. A CORS preflight (OPTIONS),
 * `/api` itself or an unknown path is no operation; hooks, Pub/Sub and the codec are not /api.
 */
export function isApiOperation(method: string, path: string): boolean {
  if (!path.startsWith('/api/')) return false;
  apiOperations ??= documentOperations(readOpenApiDocument());
  return (
    operationOf(apiOperations, { method: method.toUpperCase(), path, status: 0, file: '' }) !== undefined
  );
}

/** Throws for a raw fetch of an /api operation on one of the apps (or the proxy) the test started. */
export function refuseRawApiCall(method: string, url: string): void {
  const parsed = new URL(url);
  if (appOrigins.has(parsed.origin) && isApiOperation(method, parsed.pathname))
    throw new Error(
      `${method.toUpperCase()} ${parsed.pathname} sent with a raw fetch: e2e tests call the API through @autoflow/client (system.client)`,
    );
}

export function readObservedAnswers(directoryPath: string): ObservedAnswer[] {
  let names: string[];
  try {
    names = readdirSync(directoryPath);
  } catch {
    return [];
  }
  return names
    .filter((name) => name.endsWith('.jsonl'))
    .flatMap((name) =>
      readFileSync(join(directoryPath, name), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line): ObservedAnswer => JSON.parse(line)),
    );
}

type Operations = Map<string, { template: RegExp; statuses: Map<string, Set<string>> }>;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `/api/workflows/{id}` → a pattern matching one path segment per parameter. */
function templatePattern(template: string): RegExp {
  const escaped = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${escaped}$`);
}

function documentOperations(document: unknown): Operations {
  const operations: Operations = new Map();
  const paths = isObject(document) && isObject(document.paths) ? document.paths : {};
  for (const [template, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    const statuses = new Map<string, Set<string>>();
    for (const [method, operation] of Object.entries(item)) {
      if (!isObject(operation) || !isObject(operation.responses)) continue;
      statuses.set(method.toUpperCase(), new Set(Object.keys(operation.responses)));
    }
    operations.set(template, { template: templatePattern(template), statuses });
  }
  return operations;
}

/** The operation an answer belongs to: literal templates first, so a parameter never swallows a literal. */
function operationOf(operations: Operations, answer: ObservedAnswer) {
  const templates = [...operations].sort(([a], [b]) => a.split('{').length - b.split('{').length);
  const match = templates.find(
    ([, operation]) => operation.template.test(answer.path) && operation.statuses.has(answer.method),
  );
  return match
    ? { route: `${answer.method} ${match[0]}`, statuses: match[1].statuses.get(answer.method) }
    : undefined;
}

export interface UndeclaredAnswer {
  route: string;
  status: number;
  files: string[];
}

/**
 * The answers whose route is in the document but whose status is not. A path no template matches
 * (health, metrics, /docs, a 404 for an unknown route) is not an operation of the API.
 */
export function undeclaredAnswers(document: unknown, answers: ObservedAnswer[]): UndeclaredAnswer[] {
  const operations = documentOperations(document);
  const undeclared = new Map<string, UndeclaredAnswer>();
  for (const answer of answers) {
    const operation = operationOf(operations, answer);
    if (!operation || operation.statuses?.has(String(answer.status))) continue;
    const key = `${operation.route} ${answer.status}`;
    const entry = undeclared.get(key) ?? { route: operation.route, status: answer.status, files: [] };
    if (!entry.files.includes(answer.file)) entry.files.push(answer.file);
    undeclared.set(key, entry);
  }
  return [...undeclared.values()];
}

/** The distinct (route, status) pairs the suite saw, for the closing line. */
export function observedRouteStatuses(document: unknown, answers: ObservedAnswer[]): Set<string> {
  const operations = documentOperations(document);
  const seen = new Set<string>();
  for (const answer of answers) {
    const operation = operationOf(operations, answer);
    if (operation) seen.add(`${operation.route} ${answer.status}`);
  }
  return seen;
}
