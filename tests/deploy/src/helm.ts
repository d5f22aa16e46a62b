import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';

const run = promisify(execFile);

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const chartDir = `${repoRoot}infra/helm/autoflow`;
/** The release name and namespace of every render; object names start with `<release>-autoflow`. */
export const release = 'af';
export const namespace = 'autoflow';
// `helm template` assumes Kubernetes 1.20 without a cluster; the chart asks for 1.23 or later.
const kubeVersion = '1.31.0';

/**
 * helm v3.19.0 in the project's tools folder. scripts/test builds it (infra/helm/setup-helm.sh); without it
 * these tests fail rather than skip, so a run that lost the build step cannot pass unnoticed.
 */
export function helmBinary(): string {
  const binary = `${repoRoot}.tools/bin/helm`;
  if (!existsSync(binary)) throw new Error(`no helm at ${binary}: run infra/helm/setup-helm.sh`);
  return binary;
}

export interface HelmResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function helm(args: readonly string[]): Promise<HelmResult> {
  try {
    const { stdout, stderr } = await run(helmBinary(), [...args], { maxBuffer: 64 * 1024 * 1024 });
    return { exitCode: 0, stdout, stderr };
  } catch (error) {
    if (error instanceof Error && 'stdout' in error && 'stderr' in error && 'code' in error)
      return {
        exitCode: typeof error.code === 'number' ? error.code : 1,
        stdout: String(error.stdout),
        stderr: String(error.stderr),
      };
    throw error;
  }
}

/** `--values` for each file of the chart's ci/ folder, then any other flags (`--set-json …`). */
export function valuesArgs(valuesFiles: readonly string[], extra: readonly string[] = []): string[] {
  return [...valuesFiles.flatMap((file) => ['--values', `${chartDir}/ci/${file}`]), ...extra];
}

export function lint(valuesFiles: readonly string[], extra: readonly string[] = []): Promise<HelmResult> {
  return helm([
    'lint',
    chartDir,
    '--strict',
    '--kube-version',
    kubeVersion,
    ...valuesArgs(valuesFiles, extra),
  ]);
}

export function template(valuesFiles: readonly string[], extra: readonly string[] = []): Promise<HelmResult> {
  return helm([
    'template',
    release,
    chartDir,
    '--namespace',
    namespace,
    '--kube-version',
    kubeVersion,
    ...valuesArgs(valuesFiles, extra),
  ]);
}

/** The rendered multi-document YAML as plain values, empty documents left out; a YAML error throws. */
export function parseManifests(text: string): unknown[] {
  return parseAllDocuments(text).flatMap((document) => {
    if (document.errors.length > 0) throw new Error(`rendered YAML does not parse: ${document.errors[0]}`);
    const value: unknown = document.toJS();
    return value === null || value === undefined ? [] : [value];
  });
}
