import type { JsonValue } from '@autoflow/workflow-contracts';
import type { InboundRequest } from './definitions.js';

// A push-style event source (Gmail through Pub/Sub, the Slack Events API) announces changes to one
// endpoint per provider. The provider declares how that endpoint verifies, answers and routes; trigger-
// ingest serves every declaration at POST /push/{provider id}, so a new source edits no app.

/** Whether a push request comes from the provider; a refusal answers 401 with its code. */
export type PushVerdict = { accepted: true } | { accepted: false; code: string; reason: string };

/** Checks one push request (its signature or token); built once at start from the provider's settings. */
export type PushVerifier = (request: InboundRequest) => Promise<PushVerdict>;

/** The answer the sender expects once its request is handled: a 204, a challenge echoed, … */
export interface PushAcknowledgement {
  status: 200 | 202 | 204;
  body?: JsonValue;
}

/**
 * One event, routed to the listeners of one account (a mailbox's address, a workspace's team id, as
 * their ListenerRecord.account spells it, case-insensitively): each listener workflow of `triggerId`
 * gets `payload` as the signal `signal` (signal-with-start, so a stopped listener starts again).
 */
export interface PushSignalEvent {
  deliver: 'listener-signal';
  triggerId: string;
  account: string;
  signal: string;
  payload: JsonValue;
}

/**
 * One event that starts a run of every active workflow of `triggerId` whose trigger credential's
 * listener records `account` (a Slack workspace's team id) and whose config wants it. `eventId`
 * deduplicates: it is part of each run's workflow id, so a redelivery starts no second run.
 */
export interface PushRunsEvent {
  deliver: 'trigger-runs';
  triggerId: string;
  account: string;
  /** The sender's event id (EVENT_ID_PATTERN); one that does not match is dropped. */
  eventId: string;
  /** A workflow's trigger data for its stored trigger config, or undefined when it does not want the event. */
  output(config: unknown): JsonValue | undefined;
}

export type PushEvent = PushSignalEvent | PushRunsEvent;

/** What a verified request asks for: the events to hand Temporal, then the acknowledgement to answer. */
export interface PushReceipt {
  acknowledgement: PushAcknowledgement;
  events: PushEvent[];
  /** Why no event came of the request (a malformed message): logged, since the sender gets a 2xx. */
  dropped?: string;
}

/** Requests as the sender makes them, for the contract-test kit (provider-kit's checkProvider). */
export interface PushContractSamples {
  /** The environment (the provider's settings) under which `event` is genuine. */
  env: Readonly<Record<string, string>>;
  /** A genuine request that carries one event. */
  event: InboundRequest;
  /** Requests that must be refused: another key, a stale timestamp, no signature, a changed body, … */
  forgeries: readonly InboundRequest[];
  /** The sender's check of the URL, if it has one, and the body it expects back. */
  challenge?: { request: InboundRequest; answer: JsonValue };
  /** Stops what the samples started (a local key server). */
  close?(): Promise<void>;
}

export interface PushEndpoint<Settings = unknown> {
  /** One line for the API document: who sends to this endpoint. */
  summary: string;
  /** Largest body accepted, in bytes (413 above it). */
  maxBodyBytes: number;
  /**
   * The verifier for this deployment's settings, or undefined while push is not configured here (then
   * every request answers 401 `push_not_configured`).
   */
  verifier(settings: Settings): PushVerifier | undefined;
  /**
   * Reads a verified request. Deduplication: a listener signal is idempotent by the listener's own
   * cursor; a run event's id becomes part of the run's workflow id.
   */
  receive(request: InboundRequest): PushReceipt;
  /** Genuine and forged requests for the contract-test kit; a push endpoint without them fails it. */
  contractSamples?(): Promise<PushContractSamples>;
}
