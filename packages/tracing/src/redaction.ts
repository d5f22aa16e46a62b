import type { Context } from '@opentelemetry/api';
import type { ReadableSpan, Span, SpanProcessor, TimedEvent } from '@opentelemetry/sdk-trace';

const REDACTED = 'REDACTED';

/**
 * A query string with every value replaced: parameter names help debugging, values may be signatures,
 * tokens or OAuth codes (`?code=…&state=…` on the OAuth callback). The fragment is dropped.
 */
export function redactQuery(target: string): string {
  const withoutFragment = target.split('#', 1)[0] ?? '';
  const start = withoutFragment.indexOf('?');
  if (start < 0) return withoutFragment;
  const query = withoutFragment
    .slice(start + 1)
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const separator = part.indexOf('=');
      return separator < 0 ? part : `${part.slice(0, separator)}=${REDACTED}`;
    })
    .join('&');
  return `${withoutFragment.slice(0, start)}${query ? `?${query}` : ''}`;
}

/** A full URL without credentials (`user:password@`) and with its query values redacted. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return redactQuery(parsed.toString());
  } catch {
    return redactQuery(url);
  }
}

/** Attributes that may carry a URL's query: the semantic conventions' current names and the older ones. */
const URL_ATTRIBUTES: Record<string, (value: string) => string> = {
  'url.full': redactUrl,
  'http.url': redactUrl,
  'url.path': redactQuery,
  'http.target': redactQuery,
  'url.query': redactQuery,
};

/**
 * The span as it may leave the process: URLs without credentials or query values, and errors named by their
 * type only. An error's message and stack may quote a provider's answer or a user's data; Temporal keeps
 * them encrypted, and so traces do not carry them (the workflow id on the span finds the failure).
 */
export function redactSpan(span: ReadableSpan): ReadableSpan {
  const attributes = { ...span.attributes };
  for (const [key, redact] of Object.entries(URL_ATTRIBUTES)) {
    const value = attributes[key];
    if (typeof value === 'string') attributes[key] = redact(value);
  }
  const events = span.events.map(
    (event): TimedEvent =>
      event.name === 'exception'
        ? {
            ...event,
            attributes:
              event.attributes?.['exception.type'] === undefined
                ? {}
                : { 'exception.type': event.attributes['exception.type'] },
          }
        : event,
  );
  const spanContext = span.spanContext();
  return {
    name: span.name,
    kind: span.kind,
    spanContext: () => spanContext,
    parentSpanContext: span.parentSpanContext,
    startTime: span.startTime,
    endTime: span.endTime,
    status: { code: span.status.code },
    attributes,
    links: span.links,
    events,
    duration: span.duration,
    ended: span.ended,
    resource: span.resource,
    instrumentationScope: span.instrumentationScope,
    droppedAttributesCount: span.droppedAttributesCount,
    droppedEventsCount: span.droppedEventsCount,
    droppedLinksCount: span.droppedLinksCount,
  };
}

/** Hands every ended span, redacted, to the processor that exports it. */
export class RedactingSpanProcessor implements SpanProcessor {
  constructor(private readonly next: SpanProcessor) {}

  onStart(span: Span, parentContext: Context): void {
    this.next.onStart(span, parentContext);
  }

  onEnd(span: ReadableSpan): void {
    this.next.onEnd(redactSpan(span));
  }

  forceFlush(): Promise<void> {
    return this.next.forceFlush();
  }

  shutdown(): Promise<void> {
    return this.next.shutdown();
  }
}
