// A local stand-in for the Pub/Sub admin API, spoken to by the real @google-cloud/pubsub client over gRPC.
// Built from the .proto files the client ships, so requests and answers cross the same wire format.
// Only the RPCs provisioning uses exist; every other one answers UNIMPLEMENTED.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type sendUnaryData,
  status,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { loadSync, type PackageDefinition, type ServiceDefinition } from '@grpc/proto-loader';
import { z } from 'zod';

const require = createRequire(import.meta.url);
// The protos of the very client versions under test: pubsub's own, and google-gax's (IAM, google/api).
const pubsubEntry = require.resolve('@google-cloud/pubsub');
const pubsubProtos = join(dirname(pubsubEntry), '..', 'protos');
const gaxProtos = join(dirname(createRequire(pubsubEntry).resolve('google-gax')), '..', 'protos');

const SEVEN_DAYS = 7 * 24 * 60 * 60;
const THIRTY_ONE_DAYS = 31 * 24 * 60 * 60;

const duration = z.object({ seconds: z.number().optional(), nanos: z.number().optional() });
const pushConfigSchema = z.looseObject({
  pushEndpoint: z.string().optional(),
  attributes: z.record(z.string(), z.string()).optional(),
  oidcToken: z
    .object({ serviceAccountEmail: z.string().optional(), audience: z.string().optional() })
    .optional(),
});
const subscriptionSchema = z.looseObject({
  name: z.string(),
  topic: z.string().optional(),
  pushConfig: pushConfigSchema.optional(),
  ackDeadlineSeconds: z.number().optional(),
  messageRetentionDuration: duration.optional(),
  retryPolicy: z
    .object({ minimumBackoff: duration.optional(), maximumBackoff: duration.optional() })
    .optional(),
  expirationPolicy: z.object({ ttl: duration.optional() }).optional(),
});
const bindingSchema = z.looseObject({
  role: z.string().optional(),
  members: z.array(z.string()).optional(),
});
const policySchema = z.object({
  version: z.number().optional(),
  bindings: z.array(bindingSchema).optional(),
  etag: z.instanceof(Buffer).optional(),
});

export type StoredSubscription = z.infer<typeof subscriptionSchema>;
export interface StoredPolicy {
  version: number;
  bindings: z.infer<typeof bindingSchema>[];
  etag: Buffer;
}

class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (request: unknown) => unknown;

export class FakePubSubServer {
  readonly topics = new Set<string>();
  readonly subscriptions = new Map<string, StoredSubscription>();
  readonly policies = new Map<string, StoredPolicy>();
  /** Every RPC received, by method name, in order. */
  readonly calls: string[] = [];
  /** Push accounts the caller may not act as: creating a subscription with their token is PERMISSION_DENIED. */
  readonly accountsWithoutActAs = new Set<string>();
  /** Runs just before a SetIamPolicy is applied, e.g. to play a concurrent writer. */
  beforeSetIamPolicy: (() => void) | undefined;

  private readonly server = new Server();
  private etagCounter = 0;
  private port = 0;

  static async start(): Promise<FakePubSubServer> {
    const fake = new FakePubSubServer();
    await fake.listen();
    return fake;
  }

  /** What `new PubSub({ apiEndpoint })` takes; a non-Google host puts the client in insecure emulator mode. */
  get apiEndpoint(): string {
    return `127.0.0.1:${this.port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
  }

  /** Sets a policy as if someone else had, e.g. another team's binding. */
  seedPolicy(resource: string, bindings: StoredPolicy['bindings']): void {
    this.policies.set(resource, { version: 1, bindings, etag: this.nextEtag() });
  }

  private async listen(): Promise<void> {
    const definition = loadSync(
      [
        join(pubsubProtos, 'google/pubsub/v1/pubsub.proto'),
        join(gaxProtos, 'google/iam/v1/iam_policy.proto'),
      ],
      {
        includeDirs: [pubsubProtos, gaxProtos],
        keepCase: false,
        longs: Number,
        enums: String,
        defaults: false,
        oneofs: true,
      },
    );
    this.server.addService(serviceNamed(definition, 'google.pubsub.v1.Publisher'), {
      CreateTopic: this.unary('CreateTopic', (request) => this.createTopic(request)),
      GetTopic: this.unary('GetTopic', (request) => this.getTopic(request)),
    });
    this.server.addService(serviceNamed(definition, 'google.pubsub.v1.Subscriber'), {
      CreateSubscription: this.unary('CreateSubscription', (request) => this.createSubscription(request)),
      GetSubscription: this.unary('GetSubscription', (request) => this.getSubscription(request)),
      UpdateSubscription: this.unary('UpdateSubscription', (request) => this.updateSubscription(request)),
    });
    this.server.addService(serviceNamed(definition, 'google.iam.v1.IAMPolicy'), {
      GetIamPolicy: this.unary('GetIamPolicy', (request) => this.getIamPolicy(request)),
      SetIamPolicy: this.unary('SetIamPolicy', (request) => this.setIamPolicy(request)),
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) =>
        error ? reject(error) : resolve(port),
      ),
    );
  }

  private unary(method: string, handler: Handler): UntypedServiceImplementation[string] {
    return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
      this.calls.push(method);
      try {
        callback(null, handler(call.request));
      } catch (error) {
        const rpcError = error instanceof RpcError ? error : new RpcError(status.INTERNAL, String(error));
        callback(
          Object.assign(new Error(rpcError.message), { code: rpcError.code, details: rpcError.message }),
        );
      }
    };
  }

  private createTopic(request: unknown) {
    const { name } = parse(z.looseObject({ name: z.string() }), request);
    if (!/^projects\/[^/]+\/topics\/[A-Za-z][A-Za-z0-9\-_.~+%]{2,254}$/.test(name)) {
      throw new RpcError(status.INVALID_ARGUMENT, `Invalid [topics] name: (name=${name})`);
    }
    if (this.topics.has(name))
      throw new RpcError(status.ALREADY_EXISTS, 'Resource already exists in the project');
    this.topics.add(name);
    return { name };
  }

  private getTopic(request: unknown) {
    const { topic } = parse(z.object({ topic: z.string() }), request);
    return { name: this.existingTopic(topic) };
  }

  private createSubscription(request: unknown) {
    const subscription = parse(subscriptionSchema, request);
    if (this.subscriptions.has(subscription.name)) {
      throw new RpcError(status.ALREADY_EXISTS, 'Resource already exists in the project');
    }
    if (subscription.topic === undefined) throw new RpcError(status.INVALID_ARGUMENT, 'topic is required');
    this.existingTopic(subscription.topic);
    this.checkPushConfig(subscription.pushConfig);
    const stored: StoredSubscription = {
      // The server's defaults, so that a client which relies on them sees what Google would return.
      ackDeadlineSeconds: 10,
      messageRetentionDuration: { seconds: SEVEN_DAYS, nanos: 0 },
      expirationPolicy: { ttl: { seconds: THIRTY_ONE_DAYS, nanos: 0 } },
      ...subscription,
    };
    this.checkLimits(stored);
    stored.pushConfig = withServerAttributes(stored.pushConfig);
    this.subscriptions.set(subscription.name, stored);
    return stored;
  }

  private getSubscription(request: unknown) {
    const { subscription } = parse(z.object({ subscription: z.string() }), request);
    return this.existingSubscription(subscription);
  }

  private updateSubscription(request: unknown) {
    const { subscription, updateMask } = parse(
      z.object({ subscription: subscriptionSchema, updateMask: z.object({ paths: z.array(z.string()) }) }),
      request,
    );
    const stored = this.existingSubscription(subscription.name);
    if (updateMask.paths.length === 0) throw new RpcError(status.INVALID_ARGUMENT, 'update_mask is empty');
    const updated: StoredSubscription = { ...stored };
    for (const path of updateMask.paths) {
      const field = UPDATABLE_FIELDS.get(path);
      if (field === undefined)
        throw new RpcError(status.INVALID_ARGUMENT, `Invalid update_mask path: ${path}`);
      updated[field] = subscription[field];
    }
    this.checkPushConfig(updated.pushConfig);
    this.checkLimits(updated);
    updated.pushConfig = withServerAttributes(updated.pushConfig);
    this.subscriptions.set(stored.name, updated);
    return updated;
  }

  private getIamPolicy(request: unknown) {
    const { resource } = parse(z.looseObject({ resource: z.string() }), request);
    this.existingTopic(resource);
    return this.policies.get(resource) ?? { version: 0, bindings: [], etag: Buffer.from([0]) };
  }

  private setIamPolicy(request: unknown) {
    const { resource, policy } = parse(
      z.looseObject({ resource: z.string(), policy: policySchema }),
      request,
    );
    this.existingTopic(resource);
    this.beforeSetIamPolicy?.();
    const current = this.policies.get(resource);
    // The read-modify-write guard: a policy read before someone else's write may not overwrite it.
    if (policy.etag !== undefined && policy.etag.length > 0 && current && !current.etag.equals(policy.etag)) {
      throw new RpcError(status.ABORTED, 'There were concurrent policy changes.');
    }
    for (const binding of policy.bindings ?? []) {
      if (!binding.role || !binding.members?.length) {
        throw new RpcError(status.INVALID_ARGUMENT, 'A binding needs a role and at least one member');
      }
    }
    const stored: StoredPolicy = {
      version: policy.version ?? 1,
      bindings: policy.bindings ?? [],
      etag: this.nextEtag(),
    };
    this.policies.set(resource, stored);
    return stored;
  }

  private existingTopic(name: string): string {
    if (!this.topics.has(name))
      throw new RpcError(status.NOT_FOUND, `Resource not found (resource=${name}).`);
    return name;
  }

  private existingSubscription(name: string): StoredSubscription {
    const subscription = this.subscriptions.get(name);
    if (!subscription) throw new RpcError(status.NOT_FOUND, `Resource not found (resource=${name}).`);
    return subscription;
  }

  private checkPushConfig(pushConfig: StoredSubscription['pushConfig']): void {
    if (!pushConfig?.pushEndpoint) return;
    if (!pushConfig.pushEndpoint.startsWith('https://')) {
      throw new RpcError(status.INVALID_ARGUMENT, 'Invalid push endpoint given (endpoint=...). Refer to ...');
    }
    const account = pushConfig.oidcToken?.serviceAccountEmail;
    if (account && this.accountsWithoutActAs.has(account)) {
      throw new RpcError(
        status.PERMISSION_DENIED,
        `User not authorized to perform this action (actAs ${account}).`,
      );
    }
  }

  private checkLimits(subscription: StoredSubscription): void {
    const ack = subscription.ackDeadlineSeconds ?? 10;
    if (ack < 10 || ack > 600)
      throw new RpcError(status.INVALID_ARGUMENT, 'ack_deadline_seconds out of range');
    const retention = subscription.messageRetentionDuration?.seconds ?? SEVEN_DAYS;
    if (retention < 600 || retention > SEVEN_DAYS) {
      throw new RpcError(status.INVALID_ARGUMENT, 'message_retention_duration out of range');
    }
    const minimum = subscription.retryPolicy?.minimumBackoff?.seconds ?? 10;
    const maximum = subscription.retryPolicy?.maximumBackoff?.seconds ?? 600;
    if (minimum < 0 || maximum > 600 || minimum > maximum) {
      throw new RpcError(status.INVALID_ARGUMENT, 'retry_policy backoff out of range');
    }
  }

  private nextEtag(): Buffer {
    this.etagCounter += 1;
    return Buffer.from(`etag-${this.etagCounter}`);
  }
}

/** The update_mask paths the real API accepts that provisioning may send, to the field they name. */
const UPDATABLE_FIELDS = new Map<string, keyof StoredSubscription & string>([
  ['push_config', 'pushConfig'],
  ['ack_deadline_seconds', 'ackDeadlineSeconds'],
  ['message_retention_duration', 'messageRetentionDuration'],
  ['retry_policy', 'retryPolicy'],
  ['expiration_policy', 'expirationPolicy'],
]);

/** Google stamps the push payload version on every push config, so a client must not compare attributes. */
function withServerAttributes(
  pushConfig: StoredSubscription['pushConfig'],
): StoredSubscription['pushConfig'] {
  if (!pushConfig?.pushEndpoint) return pushConfig;
  return { ...pushConfig, attributes: { 'x-goog-version': 'v1', ...pushConfig.attributes } };
}

function parse<Schema extends z.ZodType>(schema: Schema, request: unknown): z.infer<Schema> {
  const result = schema.safeParse(request);
  if (!result.success) throw new RpcError(status.INVALID_ARGUMENT, z.prettifyError(result.error));
  return result.data;
}

function serviceNamed(definition: PackageDefinition, name: string): ServiceDefinition {
  const service = definition[name];
  if (service === undefined || 'format' in service) throw new Error(`${name} is not a service in the protos`);
  return service;
}
