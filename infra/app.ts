import { buildApp } from './build-app.js';

const repositories = process.env.BOSUN_REPOSITORIES?.split(',')
  .map((entry) => entry.trim())
  .filter((entry) => entry.length > 0);

const { app } = buildApp(
  {},
  {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    scanner: repositories === undefined || repositories.length === 0 ? {} : { repositories },
  },
);
app.synth();
