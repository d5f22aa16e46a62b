import { recordAnswer } from '@autoflow/e2e-tests/observed-statuses';
import { System, waitFor } from '@autoflow/e2e-tests/system';
import { FakeGmail, FakeOAuthServer, FakePubSubPush } from '@autoflow/fakes';
import { freePort } from '@autoflow/local-stack';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { launchChromium } from '../src/browser.js';
import { screenshot, seriousViolations } from '../src/page-checks.js';

// The console (apps/console) in headless Chromium against the real stack behind Caddy, which serves it:
// the four apps as processes over real Postgres and Temporal; Google's OAuth, the Gmail API and Pub/Sub
// push are local fakes on their wire formats. One user's path through every page, in order.

const PUSH_ACCOUNT = 'gmail-push@autoflow-test.iam.gserviceaccount.com';
const TEMPORAL_UI = 'http://temporal-ui.test:8233';
const EMAIL = 'ada@example.com';

const google = new FakeOAuthServer();
const gmail = new FakeGmail();
let pubsub: FakePubSubPush;
let system: System;
let browser: Browser;
let page: Page;
let origin = '';

beforeAll(async () => {
  const proxyPort = await freePort();
  origin = `http://127.0.0.1:${proxyPort}`;
  pubsub = new FakePubSubPush({ audience: `${origin}/pubsub/gmail`, serviceAccount: PUSH_ACCOUNT });
  await Promise.all([google.start(), gmail.start(), pubsub.start()]);
  gmail.addMailbox(google.account);
  gmail.tokenOwner = (accessToken) => (google.isAccessToken(accessToken) ? google.account : undefined);
  system = new System({
    allowedHosts: [],
    proxy: true,
    proxyPort,
    env: {
      // The connect flow lands on the console, on the proxy's origin.
      ...google.appEnv(origin),
      GMAIL_API_ROOT_URL: gmail.rootUrl,
      GMAIL_PUBSUB_TOPIC: 'projects/autoflow-test/topics/gmail-push',
      PUBSUB_PUSH_AUDIENCE: `${origin}/pubsub/gmail`,
      PUBSUB_PUSH_SERVICE_ACCOUNT: PUSH_ACCOUNT,
      PUBSUB_PUSH_JWKS_URL: pubsub.jwksUrl,
      TEMPORAL_UI_BASE_URL: TEMPORAL_UI,
    },
  });
  await system.start();
  browser = await launchChromium();
  // A context of its own (axe-core opens a page in it to assemble its results).
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  page = await context.newPage();
  // The browser's API calls are checked against the OpenAPI document too, like the e2e suite's.
  page.on('response', (response) => {
    if (new URL(response.url()).pathname.startsWith('/api/'))
      recordAnswer(response.request().method(), response.url(), response.status());
  });
  page.on('dialog', (dialog) => void dialog.accept());
  page.setDefaultTimeout(15_000);
});

// One path through the pages: once a step fails, the later ones have nothing to stand on.
let failedStep = '';
afterEach(async (context) => {
  if (context.task.result?.state !== 'fail' || failedStep) return;
  failedStep = context.task.name;
  // Where the browser stood, for the failure's report.
  console.error(
    `page at ${page.url()}:\n${((await page.locator('main').textContent()) ?? '').slice(0, 2000)}`,
  );
});
beforeEach((context) => {
  if (failedStep) context.skip(`after the failed step "${failedStep}"`);
});

afterAll(async () => {
  await browser?.close();
  await system?.stop();
  await Promise.all([google.stop(), gmail.stop(), pubsub?.stop()]);
});

async function expectAccessible(name: string): Promise<void> {
  expect(await seriousViolations(page), name).toEqual([]);
  await screenshot(page, name);
}

const heading = () => page.getByRole('heading', { level: 1 });

describe.sequential('the console', () => {
  it('signs up, keyboard first', async () => {
    await page.goto(`${origin}/`);
    await expect.poll(() => heading().textContent()).toBe('Sign in');
    // The page's title has the focus (announced); the keyboard goes on from there.
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('H1');
    await expectAccessible('sign-in');
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.keyboard.press('Tab');
    await page.keyboard.type(EMAIL);
    await page.keyboard.press('Tab');
    await page.keyboard.type('correct horse battery');
    await page.keyboard.press('Enter');
    await expect.poll(() => heading().textContent()).toBe('Workflows');
    await page.getByText('No workflows yet.').waitFor();
  });

  it('connects Gmail through the OAuth flow and completes it as the signed-in user', async () => {
    await page.getByRole('link', { name: 'Connected accounts' }).click();
    await page.getByRole('button', { name: 'Connect Gmail' }).click();
    // Google's consent (the fake answers at once), the callback, then back here with a one-time handle.
    await page.getByText('Account connected.').waitFor();
    expect(new URL(page.url()).search, 'the handle leaves the address bar').toBe('');
    expect(page.url()).toBe(`${origin}/accounts`);
    const account = page.locator('li.card', { hasText: 'Gmail' });
    await account.getByText('valid').waitFor();
    const accountName = (await account.getByRole('heading').textContent()) ?? '';
    await account.getByRole('button', { name: `Test ${accountName}` }).click();
    // The test asks the fake Gmail API who the token belongs to.
    await page.getByText(`${accountName} works (${google.account}).`).waitFor();
    await expectAccessible('accounts');
  });

  it('creates the seed workflow through the generated forms, with a trigger field inserted', async () => {
    await page.getByRole('link', { name: 'New workflow' }).first().click();
    await expect.poll(() => heading().textContent()).toBe('New workflow');
    await page.getByLabel('Name').fill('forward boss mail');
    await page.getByLabel('Trigger', { exact: true }).selectOption('gmail.receive-email');
    await page.getByLabel('Gmail account for the trigger').selectOption({ index: 1 });
    await page.locator('#trigger_from').fill('boss@company.com');
    await page.getByLabel('Action', { exact: true }).selectOption('gmail.send-email');
    await page.getByLabel('Gmail account for the action').selectOption({ index: 1 });
    await page.locator('#action_to').fill('personal@gmail.com');
    await page.locator('#action_subject').fill('Fwd: ');
    // Each offered field shows its value in the trigger's sample.
    await page.getByRole('button', { name: 'Insert {{trigger.subject}} Quarterly numbers' }).click();
    await expect.poll(() => page.locator('#action_subject').inputValue()).toBe('Fwd: {{trigger.subject}}');
    await page.locator('#action_body').fill('From {{trigger.from}}:\n\n{{trigger.textBody}}');
    await expectAccessible('new-workflow');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await expect.poll(() => heading().textContent()).toBe('Workflow created');
    await page.getByRole('button', { name: 'Activate' }).click();
    await page.getByText('The workflow is active.').waitFor();
    await page.getByRole('link', { name: 'Open the workflow' }).click();
    await expect.poll(() => heading().textContent()).toBe('forward boss mail');
  });

  it('shows a delivered mail’s run appear and complete live, then its detail', async () => {
    await page.getByText('live', { exact: true }).waitFor();
    await waitFor('the mailbox watch', async () =>
      gmail.watchCalls.some((call) => call.address === google.account) ? true : undefined,
    );
    await waitFor('the listener record', async () => {
      const rows = await system.sql`select 1 from trigger_listeners where account = ${google.account}`;
      return rows.length > 0 ? true : undefined;
    });
    // Marks this document: a reload would lose it, so the run below arrives over the stream.
    await page.evaluate(() => document.body.setAttribute('data-before-mail', 'yes'));
    const mail = gmail.deliver(google.account, {
      from: 'The Boss <boss@company.com>',
      to: google.account,
      subject: 'Quarterly numbers',
      text: 'See attached.',
    });
    const pushed = await pubsub.push(`${origin}/pubsub/gmail`, {
      emailAddress: google.account,
      historyId: mail.historyId,
    });
    expect(pushed.status).toBe(204);
    const run = page.locator('li.run').first();
    await run.getByText('completed').waitFor({ timeout: 30_000 });
    expect(await page.evaluate(() => document.body.getAttribute('data-before-mail'))).toBe('yes');
    expect(gmail.sent.map((sent) => [sent.subject, sent.text?.trimEnd()])).toEqual([
      ['Fwd: Quarterly numbers', 'From The Boss <boss@company.com>:\n\nSee attached.'],
    ]);
    await expectAccessible('workflow-runs');

    await run.getByRole('link').click();
    await expect.poll(() => heading().textContent()).toMatch(/^Run \d+$/);
    await page.getByText('Quarterly numbers', { exact: false }).first().waitFor();
    expect(await page.getByRole('link', { name: 'Open in the Temporal UI' }).getAttribute('href')).toMatch(
      new RegExp(`^${TEMPORAL_UI}/namespaces/`),
    );
    await expectAccessible('run');
  });

  it('re-runs the execution: a new run, linked to it, that completes', async () => {
    const originalTitle = (await heading().textContent()) ?? '';
    await page.getByRole('button', { name: 'Re-run' }).click();
    await expect.poll(() => heading().textContent()).not.toBe(originalTitle);
    await page.getByRole('link', { name: originalTitle }).waitFor();
    await page.locator('.facts').getByText('completed').waitFor({ timeout: 30_000 });
    expect(gmail.sent.map((sent) => sent.subject)).toEqual([
      'Fwd: Quarterly numbers',
      'Fwd: Quarterly numbers',
    ]);
  });

  it('shows the server’s validation error next to a bad cron', async () => {
    await page.getByRole('link', { name: 'New workflow' }).first().click();
    await page.getByLabel('Name').fill('nightly');
    await page.getByLabel('Trigger', { exact: true }).selectOption('schedule.cron');
    await page.locator('#trigger_cron').fill('61 * * * *');
    await page.getByLabel('Action', { exact: true }).selectOption('http.request');
    await page.locator('#action_url').fill('https://example.com/hook');
    await page.getByRole('button', { name: 'Create workflow' }).click();
    await page.getByRole('alert').waitFor();
    const cronField = page.locator('.form-group', { has: page.locator('#trigger_cron') }).last();
    await cronField.locator('.error-detail').waitFor();
    expect(await cronField.locator('.error-detail').textContent()).toContain('expected range 0-59');
    await expectAccessible('new-workflow-error');
  });

  it('lists workflows, readable at 320 px wide, and deactivates one', async () => {
    await page.getByRole('link', { name: 'Workflows' }).click();
    await page.getByRole('link', { name: 'forward boss mail' }).waitFor();
    await page.setViewportSize({ width: 320, height: 700 });
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(320);
    await expectAccessible('workflows-320');
    await page.getByRole('button', { name: 'Deactivate forward boss mail' }).click();
    await page.getByText('forward boss mail is inactive.').waitFor();
    await page.setViewportSize({ width: 1100, height: 800 });
    await expectAccessible('workflows');
  });

  it('signs out: the token is gone from the tab', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => heading().textContent()).toBe('Sign in');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
  });
});
