#!/usr/bin/env node
// `pnpm gmail:provision …`: the Google Cloud side of Gmail push. See README.md.
import { PubSub } from '@google-cloud/pubsub';
import { runGmailPushCommand } from './command.js';

process.exitCode = await runGmailPushCommand(process.argv.slice(2), {
  // No credentials here on purpose: the client finds Application Default Credentials itself.
  createPubSub: (projectId) => new PubSub({ projectId }),
  out: (line) => console.log(line),
  err: (line) => console.error(line),
  env: process.env,
});
