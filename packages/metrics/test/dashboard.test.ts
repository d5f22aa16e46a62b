// The Grafana dashboard in infra/grafana reads only metrics that exist: every name its queries use is
// defined here (AutoflowMetrics) or exported by the Temporal SDK (TEMPORAL_SDK_METRICS, which the
// metrics e2e test finds on a real worker's SDK endpoint), and every autoflow_* metric has a panel.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AutoflowMetrics, baseMetricName, definedMetricNames, TEMPORAL_SDK_METRICS } from '../src/index.js';

const DASHBOARD_PATH = new URL('../../../infra/grafana/autoflow.json', import.meta.url);

const dashboardSchema = z.object({
  title: z.string(),
  uid: z.string(),
  panels: z.array(
    z.object({
      id: z.number(),
      type: z.string(),
      title: z.string(),
      targets: z.array(z.object({ expr: z.string().min(1), refId: z.string() })).optional(),
    }),
  ),
});

const dashboard = dashboardSchema.parse(JSON.parse(readFileSync(DASHBOARD_PATH, 'utf8')));
const queryPanels = dashboard.panels.filter((panel) => panel.type !== 'row');
const expressions = queryPanels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
/** Metric names in PromQL: ours and the SDK's share prefixes, so a prefix match finds them all. */
const METRIC_NAME = /\b(?:autoflow|temporal)_[a-zA-Z0-9_]+/g;
const queried = new Set(expressions.flatMap((expr) => expr.match(METRIC_NAME) ?? []).map(baseMetricName));
const defined = new Set(definedMetricNames(new AutoflowMetrics({ app: 'dashboard', processMetrics: false })));

describe('the Grafana dashboard', () => {
  it('queries only metrics the code defines or the Temporal SDK exports', () => {
    const known = new Set<string>([...defined, ...TEMPORAL_SDK_METRICS]);
    expect(queried.size).toBeGreaterThan(10);
    expect([...queried].filter((name) => !known.has(name))).toEqual([]);
  });

  it('has a panel over every autoflow_* metric and every SDK metric it names', () => {
    expect([...defined].filter((name) => !queried.has(name))).toEqual([]);
    expect(TEMPORAL_SDK_METRICS.filter((name) => !queried.has(name))).toEqual([]);
  });

  it('gives every panel a query and a unique id', () => {
    expect(queryPanels.every((panel) => (panel.targets ?? []).length > 0)).toBe(true);
    const ids = dashboard.panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
