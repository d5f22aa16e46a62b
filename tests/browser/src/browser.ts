import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';

/** Debian's chromium (scripts/bootstrap.sh installs it), or CHROMIUM_PATH. */
export function chromiumPath(env: Readonly<Record<string, string | undefined>>): string {
  return env.CHROMIUM_PATH || '/usr/bin/chromium';
}

/**
 * Headless Chromium that reaches nothing but what the pages ask for. Playwright gives every launch a
 * fresh, throwaway profile (it refuses --user-data-dir here).
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = chromiumPath(process.env);
  if (!existsSync(executablePath))
    throw new Error(
      `no Chromium at ${executablePath}: run scripts/bootstrap.sh (it installs Debian's chromium) or set CHROMIUM_PATH`,
    );
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
