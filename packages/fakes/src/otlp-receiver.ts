import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startLocalServer } from './local-server.js';

export type SpanAttributeValue = string | number | boolean | undefined;

/** One span as a collector received it, flattened from OTLP's resource / scope / span nesting. */
export interface ReceivedSpan {
  /** The resource's `service.name`. */
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  /** Empty for a trace's root. */
  parentSpanId: string;
  name: string;
  /** OTLP's SpanKind number: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, SpanAttributeValue>;
  events: { name: string; attributes: Record<string, SpanAttributeValue> }[];
  status: { code: number; message: string | undefined };
}

interface OtlpKeyValue {
  key?: string;
  value?: {
    stringValue?: string;
    boolValue?: boolean;
    intValue?: number | string;
    doubleValue?: number;
  };
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? Object.fromEntries(Object.entries(value)) : {};
}

function list(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function attributeValue(value: OtlpKeyValue['value']): SpanAttributeValue {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  return value.doubleValue;
}

function attributes(value: unknown): Record<string, SpanAttributeValue> {
  const entries: Record<string, SpanAttributeValue> = {};
  for (const item of list(value)) {
    const { key, value: attribute } = record(item);
    entries[text(key)] = attributeValue(record(attribute));
  }
  return entries;
}

/** OTLP/JSON ids are hex; some encoders send base64, as protobuf's JSON mapping would. */
function hexId(value: unknown): string {
  const id = text(value);
  return /^[0-9a-f]*$/i.test(id) ? id.toLowerCase() : Buffer.from(id, 'base64').toString('hex');
}

/** The spans of one OTLP/JSON ExportTraceServiceRequest. */
export function spansOfExport(body: unknown): ReceivedSpan[] {
  return list(record(body).resourceSpans).flatMap((resourceSpans) => {
    const resource = record(resourceSpans);
    const service = String(attributes(record(resource.resource).attributes)['service.name'] ?? '');
    return list(resource.scopeSpans).flatMap((scopeSpans) => {
      const scope = text(record(record(scopeSpans).scope).name);
      return list(record(scopeSpans).spans).map((item): ReceivedSpan => {
        const span = record(item);
        const status = record(span.status);
        return {
          service,
          scope,
          traceId: hexId(span.traceId),
          spanId: hexId(span.spanId),
          parentSpanId: hexId(span.parentSpanId),
          name: text(span.name),
          kind: Number(span.kind ?? 0),
          attributes: attributes(span.attributes),
          events: list(span.events).map((event) => ({
            name: text(record(event).name),
            attributes: attributes(record(event).attributes),
          })),
          status: {
            code: Number(status.code ?? 0),
            message: typeof status.message === 'string' ? status.message : undefined,
          },
        };
      });
    });
  });
}

/**
 * A local OpenTelemetry collector for tests: accepts OTLP/HTTP trace exports in JSON
 * (OTEL_EXPORTER_OTLP_PROTOCOL=http/json) on POST /v1/traces and keeps their spans. Protobuf exports are
 * answered 415 and counted, so a test sees a misconfigured exporter instead of silence.
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  /** Export requests received, of any kind. */
  exports = 0;
  /** Export requests refused (not JSON, not /v1/traces). */
  refused = 0;
  port = 0;
  #stop: (() => Promise<void>) | undefined;

  /** The value of OTEL_EXPORTER_OTLP_ENDPOINT for the apps. */
  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const running = await startLocalServer((request, response) => void this.#handle(request, response));
    this.port = running.port;
    this.#stop = running.stop;
  }

  async stop(): Promise<void> {
    await this.#stop?.();
  }

  trace(traceId: string): ReceivedSpan[] {
    return this.spans.filter((span) => span.traceId === traceId);
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(Buffer.from(chunk));
    this.exports++;
    const raw = Buffer.concat(chunks);
    const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
    const isJson = (request.headers['content-type'] ?? '').startsWith('application/json');
    if (request.method !== 'POST' || request.url !== '/v1/traces' || !isJson) {
      this.refused++;
      response.writeHead(isJson ? 404 : 415, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ message: 'this receiver takes OTLP/JSON trace exports on /v1/traces' }));
      return;
    }
    this.spans.push(...spansOfExport(JSON.parse(body.toString('utf8'))));
    // An ExportTraceServiceResponse with no partial success.
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{}');
  }
}
