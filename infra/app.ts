import { buildApp } from './build-app.js';

/** A comma-separated variable as a list; undefined when unset or empty. */
function list(value: string | undefined): string[] | undefined {
  const entries = value
    ?.split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
  return entries === undefined || entries.length === 0 ? undefined : entries;
}

const repositories = list(process.env.BOSUN_REPOSITORIES);
// The registry webhook is built only for listed registries (README, Registry webhook).
const webhookRegistries = list(process.env.BOSUN_WEBHOOK_REGISTRIES);

const { app } = buildApp(
  {},
  {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    scanner: {
      ...(repositories === undefined ? {} : { repositories }),
      ...(webhookRegistries === undefined ? {} : { webhookRegistries }),
    },
  },
);
app.synth();
