import { posix } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { appEnvironments, knownTaskQueues, sampleSecret, secretVariables } from '../src/app-env.js';
import { lint, parseManifests, template } from '../src/helm.js';
import {
  ConfigMap,
  Deployment,
  HorizontalPodAutoscaler,
  type IContainer,
  Ingress,
  Job,
  type KubeObject,
  PodDisruptionBudget,
  podSpecs,
  Secret,
  Service,
  selects,
  toValidatedModel,
} from '../src/kubernetes.js';

interface RenderCase {
  name: string;
  /** Files of infra/helm/autoflow/ci/. */
  valuesFiles: string[];
  /** WORKER_TASK_QUEUES each pool's Deployment must carry, by pool name. */
  pools: Record<string, string>;
  autoscaling: boolean;
  /** Pools whose PodDisruptionBudget the values turn off. */
  poolsWithoutBudget: string[];
  temporalTls: boolean;
  /** The worker's Temporal SDK metrics port; 0: none. */
  sdkMetricsPort: number;
  prometheusAnnotations: boolean;
  /** OTEL_EXPORTER_OTLP_ENDPOINT of every app; undefined: tracing off. */
  otlpEndpoint?: string;
}

const cases: RenderCase[] = [
  {
    name: 'default values',
    valuesFiles: [],
    pools: { all: 'all' },
    autoscaling: true,
    poolsWithoutBudget: [],
    temporalTls: false,
    sdkMetricsPort: 9464,
    prometheusAnnotations: true,
  },
  {
    name: 'every option (ci/full-values.yaml)',
    valuesFiles: ['full-values.yaml'],
    pools: { main: 'automation-workflows,automation-actions', gmail: 'gmail-queue', slack: 'slack-queue' },
    autoscaling: true,
    poolsWithoutBudget: [],
    temporalTls: true,
    sdkMetricsPort: 9500,
    prometheusAnnotations: true,
    otlpEndpoint: 'http://otel-collector.observability.svc:4318',
  },
  {
    name: 'fixed replicas (ci/no-autoscaling-values.yaml)',
    valuesFiles: ['no-autoscaling-values.yaml'],
    pools: { main: 'automation-workflows,automation-actions', providers: 'gmail-queue,slack-queue' },
    autoscaling: false,
    poolsWithoutBudget: ['providers'],
    temporalTls: false,
    sdkMetricsPort: 0,
    prometheusAnnotations: false,
  },
];

const httpApps = ['api-gateway', 'oauth-service', 'trigger-ingest'];
const poolLabel = 'autoflow.dev/worker-pool';

function theContainer(deployment: Deployment): IContainer {
  const containers = deployment.spec?.template.spec?.containers ?? [];
  expect(containers, `${deployment.metadata?.name} has one container`).toHaveLength(1);
  const [container] = containers;
  if (!container) throw new Error(`${deployment.metadata?.name} has no container`);
  return container;
}

function plainEnv(container: IContainer): Map<string, string> {
  return new Map(
    (container.env ?? []).flatMap((entry) => (entry.value === undefined ? [] : [[entry.name, entry.value]])),
  );
}

function secretEnv(container: IContainer): Map<string, { name: string; key: string }> {
  return new Map(
    (container.env ?? []).flatMap((entry) => {
      const ref = entry.valueFrom?.secretKeyRef;
      return ref?.name ? [[entry.name, { name: ref.name, key: ref.key }]] : [];
    }),
  );
}

function podLabels(deployment: Deployment): Record<string, string> {
  return deployment.spec?.template.metadata?.labels ?? {};
}

describe.each(cases)('the chart with $name', (renderCase) => {
  let objects: KubeObject[] = [];
  let deployments: Deployment[] = [];

  beforeAll(async () => {
    const rendered = await template(renderCase.valuesFiles);
    expect(rendered.stderr).toBe('');
    expect(rendered.exitCode).toBe(0);
    objects = parseManifests(rendered.stdout).map(toValidatedModel);
    deployments = objects.filter((object) => object instanceof Deployment);
  });

  it('passes helm lint --strict, with no template failure hidden by lint mode', async () => {
    const result = await lint(renderCase.valuesFiles);
    // In lint mode `fail` only logs "[INFO] Fail: …" and the lint still passes.
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/Fail:|\[ERROR\]|\[WARNING\]/);
    expect(result.exitCode).toBe(0);
  });

  it('renders one Deployment per HTTP app and per worker pool, each valid against the Kubernetes schema', () => {
    const components = deployments.map(
      (deployment) =>
        `${podLabels(deployment)['app.kubernetes.io/component']}/${podLabels(deployment)[poolLabel] ?? ''}`,
    );
    expect(components.sort()).toEqual(
      [
        ...httpApps.map((app) => `${app}/`),
        ...Object.keys(renderCase.pools).map((pool) => `worker/${pool}`),
      ].sort(),
    );
  });

  it('creates no Secret or ConfigMap: every secret variable comes from an existing Secret by secretKeyRef', () => {
    expect(objects.filter((object) => object instanceof Secret || object instanceof ConfigMap)).toEqual([]);
    const containers = [
      ...deployments.map(theContainer),
      ...objects.flatMap((object) =>
        object instanceof Job ? (object.spec?.template.spec?.containers ?? []) : [],
      ),
    ];
    for (const container of containers) {
      for (const entry of container.env ?? []) {
        if (!secretVariables.has(entry.name)) continue;
        expect(entry.value, `${container.name}: ${entry.name} as a plain value`).toBeUndefined();
        expect(entry.valueFrom?.secretKeyRef?.name, `${container.name}: ${entry.name}`).toBeTruthy();
      }
      expect(container.envFrom ?? [], `${container.name}: envFrom would hide what it sets`).toEqual([]);
    }
  });

  it('sets only variables the apps read, and every app accepts its complete environment', () => {
    for (const deployment of deployments) {
      const container = theContainer(deployment);
      const environment = appEnvironments[container.name];
      if (!environment) throw new Error(`no env.ts known for the container ${container.name}`);
      const names = (container.env ?? []).map((entry) => entry.name);
      expect(
        names.filter((name) => !environment.names.has(name)),
        `${deployment.metadata?.name}`,
      ).toEqual([]);
      expect(new Set(names).size, `${deployment.metadata?.name}: a variable set twice`).toBe(names.length);
      // A YAML number must reach the app as written (1048576), not in Go's float notation (1.048576e+06).
      expect(
        [...plainEnv(container).values()].filter((value) => /^\d(\.\d+)?e[+-]\d+$/i.test(value)),
        `${deployment.metadata?.name}`,
      ).toEqual([]);
      const env = Object.fromEntries([
        ...plainEnv(container),
        ...[...secretEnv(container).keys()].map((name) => [name, sampleSecret(name)]),
      ]);
      expect(environment.problems(env), `${deployment.metadata?.name}`).toBeUndefined();
    }
  });

  it('gives every app probes on /healthz and /readyz of its own port, resources, and its PORT', () => {
    for (const deployment of deployments) {
      const container = theContainer(deployment);
      const where = `${deployment.metadata?.name}`;
      const ports = container.ports ?? [];
      // The worker may add its Temporal SDK metrics port (checked below); `http` comes first.
      expect(ports[0]?.name, where).toBe('http');
      expect(
        ports.slice(1).map((port) => port.name),
        where,
      ).toEqual(container.name === 'worker' && renderCase.sdkMetricsPort > 0 ? ['sdk-metrics'] : []);
      expect(plainEnv(container).get('PORT'), where).toBe(String(ports[0]?.containerPort));
      expect(plainEnv(container).get('HOST'), where).toBe('0.0.0.0');
      expect(container.livenessProbe?.httpGet, where).toMatchObject({ path: '/healthz', port: 'http' });
      expect(container.readinessProbe?.httpGet, where).toMatchObject({ path: '/readyz', port: 'http' });
      expect(container.startupProbe?.httpGet, where).toMatchObject({ path: '/healthz', port: 'http' });
      expect(container.resources?.requests, where).toMatchObject({
        cpu: expect.anything(),
        memory: expect.anything(),
      });
      expect(container.resources?.limits?.memory, where).toBeTruthy();
    }
  });

  it('lets each app drain within terminationGracePeriodSeconds, after its preStop pause', () => {
    for (const deployment of deployments) {
      const container = theContainer(deployment);
      const env = plainEnv(container);
      const graceMs = Number(env.get('SHUTDOWN_GRACE_MS') ?? env.get('WORKER_SHUTDOWN_GRACE_MS'));
      expect(graceMs, `${deployment.metadata?.name}: no drain grace set`).toBeGreaterThan(0);
      const [command, seconds] = container.lifecycle?.preStop?.exec?.command ?? [];
      const preStopSeconds = command === 'sleep' ? Number(seconds) : 0;
      if (httpApps.includes(container.name)) expect(preStopSeconds).toBeGreaterThan(0);
      expect(deployment.spec?.template.spec?.terminationGracePeriodSeconds ?? 30).toBeGreaterThan(
        preStopSeconds + graceMs / 1000,
      );
    }
  });

  it('gives each worker pool its own WORKER_TASK_QUEUES, and the pools together serve every queue', () => {
    const workers = deployments.filter(
      (deployment) => podLabels(deployment)['app.kubernetes.io/component'] === 'worker',
    );
    const queuesByPool = Object.fromEntries(
      workers.map((worker) => [
        podLabels(worker)[poolLabel],
        plainEnv(theContainer(worker)).get('WORKER_TASK_QUEUES'),
      ]),
    );
    expect(queuesByPool).toEqual(renderCase.pools);
    const served = new Set(
      Object.values(renderCase.pools).flatMap((setting) =>
        setting === 'all' ? knownTaskQueues : setting.split(','),
      ),
    );
    expect([...served].filter((queue) => !knownTaskQueues.includes(queue))).toEqual([]);
    expect(knownTaskQueues.filter((queue) => !served.has(queue))).toEqual([]);
  });

  it('scales each Deployment by exactly one HPA when autoscaling is on, by its replicas otherwise', () => {
    const autoscalers = objects.filter((object) => object instanceof HorizontalPodAutoscaler);
    for (const deployment of deployments) {
      const mine = autoscalers.filter(
        (hpa) =>
          hpa.spec?.scaleTargetRef.kind === 'Deployment' &&
          hpa.spec.scaleTargetRef.name === deployment.metadata?.name,
      );
      if (!renderCase.autoscaling) {
        expect(mine).toEqual([]);
        expect(deployment.spec?.replicas, `${deployment.metadata?.name}`).toBeGreaterThan(0);
        continue;
      }
      expect(mine, `${deployment.metadata?.name}`).toHaveLength(1);
      // An HPA owns the count: a Deployment that also set it would be reset on every upgrade.
      expect(deployment.spec?.replicas).toBeUndefined();
      const [hpa] = mine;
      const metrics = hpa?.spec?.metrics ?? [];
      expect(metrics.length).toBeGreaterThan(0);
      const requests = theContainer(deployment).resources?.requests ?? {};
      for (const metric of metrics)
        if (metric.type === 'Resource' && metric.resource)
          expect(requests[metric.resource.name]).toBeTruthy();
    }
    expect(autoscalers).toHaveLength(renderCase.autoscaling ? deployments.length : 0);
  });

  it('covers each Deployment with exactly one PodDisruptionBudget that selects its pods only', () => {
    const budgets = objects.filter((object) => object instanceof PodDisruptionBudget);
    for (const deployment of deployments) {
      const covering = budgets.filter((budget) =>
        selects(budget.spec?.selector?.matchLabels, podLabels(deployment)),
      );
      const pool = podLabels(deployment)[poolLabel];
      expect(covering, `${deployment.metadata?.name}`).toHaveLength(
        pool && renderCase.poolsWithoutBudget.includes(pool) ? 0 : 1,
      );
    }
    for (const budget of budgets)
      expect(
        deployments.filter((deployment) =>
          selects(budget.spec?.selector?.matchLabels, podLabels(deployment)),
        ),
        `${budget.metadata?.name}`,
      ).toHaveLength(1);
  });

  it('keeps Deployment selectors apart, and points each Service at one HTTP app', () => {
    for (const deployment of deployments) {
      const owners = deployments.filter((other) =>
        selects(deployment.spec?.selector.matchLabels, podLabels(other)),
      );
      expect(owners, `${deployment.metadata?.name}`).toEqual([deployment]);
    }
    const services = objects.filter((object) => object instanceof Service);
    expect(services).toHaveLength(httpApps.length);
    for (const service of services) {
      const backends = deployments.filter((deployment) =>
        selects(service.spec?.selector, podLabels(deployment)),
      );
      expect(backends, `${service.metadata?.name}`).toHaveLength(1);
      const [backend] = backends;
      if (!backend) continue;
      expect(httpApps).toContain(theContainer(backend).name);
      expect(service.spec?.ports?.map((port) => port.targetPort)).toEqual(['http']);
    }
    for (const ingress of objects.filter((object) => object instanceof Ingress))
      for (const rule of ingress.spec?.rules ?? [])
        for (const path of rule.http?.paths ?? [])
          expect(services.map((service) => service.metadata?.name)).toContain(path.backend.service?.name);
  });

  it('routes a host without paths as the one origin of infra/caddy/Caddyfile', () => {
    const rules = objects
      .filter((object) => object instanceof Ingress)
      .flatMap((ingress) => ingress.spec?.rules ?? []);
    const oneOrigin = rules.find((rule) => rule.host === 'autoflow.example.com');
    if (!renderCase.valuesFiles.includes('full-values.yaml')) return expect(oneOrigin).toBeUndefined();
    // The Caddyfile's table (packages/local-stack/test/caddyfile.test.ts checks Caddy's side).
    expect(
      (oneOrigin?.http?.paths ?? []).map((path) => [
        path.path,
        path.pathType,
        path.backend.service?.name?.replace(/^.*?-(api-gateway|oauth-service|trigger-ingest)$/, '$1'),
      ]),
    ).toEqual([
      ['/api/oauth2-credential', 'Prefix', 'oauth-service'],
      ['/api', 'Prefix', 'api-gateway'],
      ['/codec', 'Prefix', 'api-gateway'],
      ['/docs', 'Prefix', 'api-gateway'],
      ['/hooks', 'Prefix', 'trigger-ingest'],
      ['/push', 'Prefix', 'trigger-ingest'],
      ['/pubsub', 'Prefix', 'trigger-ingest'],
    ]);
  });

  it('migrates in a pre-install/pre-upgrade hook Job that needs nothing the release itself creates', () => {
    const jobs = objects.filter((object) => object instanceof Job);
    expect(jobs).toHaveLength(1);
    const [job] = jobs;
    const annotations = job?.metadata?.annotations ?? {};
    expect(annotations['helm.sh/hook']?.split(',').sort()).toEqual(['pre-install', 'pre-upgrade']);
    expect(annotations['helm.sh/hook-delete-policy']?.split(',')).toContain('before-hook-creation');
    const pod = job?.spec?.template.spec;
    expect(pod?.restartPolicy).toBe('Never');
    const [container] = pod?.containers ?? [];
    expect(container?.command).toEqual(['node', 'dist/migrate-cli.js']);
    expect(container && secretEnv(container).has('DATABASE_URL')).toBe(true);
    // A hook runs before the release's objects exist: the chart's own ServiceAccount is not there yet.
    const releaseAccounts = objects
      .filter((object) => object.kind === 'ServiceAccount')
      .map((object) => object.metadata?.name);
    expect(releaseAccounts).not.toContain(pod?.serviceAccountName);
  });

  it('runs every pod as non-root with a read-only root filesystem and no privilege escalation', () => {
    const pods = podSpecs(objects);
    expect(pods.length).toBeGreaterThan(deployments.length);
    for (const { owner, spec } of pods) {
      expect(spec.securityContext?.runAsNonRoot, owner).toBe(true);
      expect(spec.securityContext?.runAsUser, owner).toBeGreaterThan(0);
      expect(spec.automountServiceAccountToken, owner).toBe(false);
      for (const container of spec.containers) {
        expect(container.securityContext, `${owner} ${container.name}`).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
        });
      }
    }
  });

  it(`mounts the Temporal TLS files the apps are pointed at (TLS ${renderCase.temporalTls ? 'on' : 'off'})`, () => {
    for (const deployment of deployments) {
      const container = theContainer(deployment);
      const env = plainEnv(container);
      const files = ['TEMPORAL_TLS_CA_FILE', 'TEMPORAL_TLS_CERT_FILE', 'TEMPORAL_TLS_KEY_FILE'].flatMap(
        (name) => {
          const path = env.get(name);
          return path ? [path] : [];
        },
      );
      expect(env.get('TEMPORAL_TLS')).toBe(renderCase.temporalTls ? 'true' : undefined);
      expect(files).toHaveLength(renderCase.temporalTls ? 3 : 0);
      for (const file of files) {
        const mount = container.volumeMounts?.find((each) => each.mountPath === posix.dirname(file));
        expect(mount, `${deployment.metadata?.name}: ${file}`).toBeDefined();
        const volume = deployment.spec?.template.spec?.volumes?.find((each) => each.name === mount?.name);
        const items = volume?.secret?.items ?? volume?.configMap?.items ?? [];
        expect(
          items.map((item) => item.path),
          `${deployment.metadata?.name}: ${file}`,
        ).toContain(posix.basename(file));
      }
    }
  });

  it("points scrapers at each app's /metrics, and exposes the worker's Temporal SDK metrics port", () => {
    expect(deployments.length).toBeGreaterThan(0);
    for (const deployment of deployments) {
      const container = theContainer(deployment);
      const port = container.ports?.find((each) => each.name === 'http')?.containerPort;
      const annotations = deployment.spec?.template.metadata?.annotations ?? {};
      if (renderCase.prometheusAnnotations) {
        expect(annotations['prometheus.io/scrape']).toBe('true');
        expect(annotations['prometheus.io/path']).toBe('/metrics');
        expect(annotations['prometheus.io/port']).toBe(String(port));
      } else expect(annotations['prometheus.io/scrape']).toBeUndefined();
      const isWorker = container.name === 'worker';
      const sdkPort = container.ports?.find((each) => each.name === 'sdk-metrics')?.containerPort;
      const bindAddress = plainEnv(container).get('TEMPORAL_METRICS_BIND_ADDRESS');
      if (isWorker && renderCase.sdkMetricsPort > 0) {
        expect(sdkPort).toBe(renderCase.sdkMetricsPort);
        expect(bindAddress).toBe(`0.0.0.0:${renderCase.sdkMetricsPort}`);
      } else {
        expect(sdkPort).toBeUndefined();
        expect(bindAddress).toBe(isWorker ? 'off' : undefined);
      }
    }
  });

  it('exports traces from every app only when an OTLP endpoint is set, its headers from a Secret', () => {
    for (const deployment of deployments) {
      const container = theContainer(deployment);
      expect(plainEnv(container).get('OTEL_EXPORTER_OTLP_ENDPOINT')).toBe(renderCase.otlpEndpoint);
      const headers = secretEnv(container).get('OTEL_EXPORTER_OTLP_HEADERS');
      expect(headers).toEqual(
        renderCase.otlpEndpoint ? { name: 'autoflow-otel', key: 'headers' } : undefined,
      );
    }
  });
});

describe('the chart refuses', () => {
  const refusals: [string, string[], RegExp][] = [
    [
      'a secret as a plain env value',
      ['--set', 'apiGateway.env.JWT_SECRET=not-here'],
      /apiGateway\.env\.JWT_SECRET/,
    ],
    [
      'a client secret in a pool env',
      ['--set-json', 'worker.poolDefaults.env={"SLACK_OAUTH_CLIENT_SECRET":"x"}'],
      /SLACK_OAUTH_CLIENT_SECRET/,
    ],
    ['WORKER_TASK_QUEUES outside a pool', ['--set', 'worker.env.WORKER_TASK_QUEUES=all'], /taskQueues/],
    [
      'two pools of one name',
      ['--set-json', 'worker.pools=[{"name":"a","taskQueues":["all"]},{"name":"a","taskQueues":["all"]}]'],
      /used twice/,
    ],
    [
      'a TLS client certificate with TLS off',
      ['--set', 'temporal.tls.clientCert.secretName=cert'],
      /temporal\.tls/,
    ],
    ['no Postgres Secret', ['--set', 'postgres.urlSecret.name='], /postgres\.urlSecret/],
    ['Vault without credentials', ['--set', 'encryption.keyProvider=vault-transit'], /encryption\.vault/],
    [
      'an HPA without a target',
      ['--set', 'triggerIngest.autoscaling.targetCPUUtilizationPercentage=0'],
      /without a target/,
    ],
  ];

  it.each(refusals)('%s', async (_name, args, message) => {
    const result = await template([], args);
    expect(result.exitCode).not.toBe(0);
    expect(result.stderr).toMatch(message);
  });
});
