import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { Ingress } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  type IContainer,
  type IPodSpec,
  Pod,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';

/** Every kind the chart may render, and two it must not (Secret, ConfigMap) but that are still checkable. */
export type KubeObject =
  | Deployment
  | Service
  | ServiceAccount
  | HorizontalPodAutoscaler
  | PodDisruptionBudget
  | Job
  | Ingress
  | Pod
  | Secret
  | ConfigMap;

function describe(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  return `${'apiVersion' in value ? String(value.apiVersion) : '?'} ${'kind' in value ? String(value.kind) : '?'}`;
}

/**
 * The model of a rendered object by its apiVersion and kind, validated offline against the Kubernetes
 * JSON schema (types, required fields, formats). A kind outside the list above fails: a new kind in the
 * chart must be added here, with its schema, to be checked at all.
 */
export function toValidatedModel(value: unknown): KubeObject {
  const model = Deployment.is(value)
    ? new Deployment(value)
    : Service.is(value)
      ? new Service(value)
      : ServiceAccount.is(value)
        ? new ServiceAccount(value)
        : HorizontalPodAutoscaler.is(value)
          ? new HorizontalPodAutoscaler(value)
          : PodDisruptionBudget.is(value)
            ? new PodDisruptionBudget(value)
            : Job.is(value)
              ? new Job(value)
              : Ingress.is(value)
                ? new Ingress(value)
                : Pod.is(value)
                  ? new Pod(value)
                  : Secret.is(value)
                    ? new Secret(value)
                    : ConfigMap.is(value)
                      ? new ConfigMap(value)
                      : undefined;
  if (model === undefined) throw new Error(`no schema for the rendered ${describe(value)}`);
  try {
    model.validate();
  } catch (error) {
    throw new Error(
      `${model.kind} ${model.metadata?.name}: ${error instanceof Error ? error.message : error}`,
    );
  }
  return model;
}

export type { IContainer, IPodSpec };
export {
  ConfigMap,
  Deployment,
  HorizontalPodAutoscaler,
  Ingress,
  Job,
  Pod,
  PodDisruptionBudget,
  Secret,
  Service,
};

/** Whether a label selector (matchLabels only: the chart uses no expressions) selects these labels. */
export function selects(
  matchLabels: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  const wanted = Object.entries(matchLabels ?? {});
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value);
}

/** Every pod spec of the render: Deployments' and Jobs' templates, and bare Pods (the `helm test` hook). */
export function podSpecs(objects: readonly KubeObject[]): { owner: string; spec: IPodSpec }[] {
  return objects.flatMap((object) => {
    const owner = `${object.kind} ${object.metadata?.name}`;
    if (object instanceof Deployment || object instanceof Job) {
      const spec = object.spec?.template.spec;
      return spec ? [{ owner, spec }] : [];
    }
    if (object instanceof Pod && object.spec) return [{ owner, spec: object.spec }];
    return [];
  });
}
