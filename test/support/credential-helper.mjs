#!/usr/bin/env node
/**
 * A credential helper speaking Docker's protocol, for tests: run as
 * `docker-credential-<name> get` (a link to this file on PATH), it reads the server URL on
 * stdin and answers from the JSON file named by BOSUN_TEST_HELPER_STORE:
 * `{ "<name>": { "<server URL>": { "Username": "…", "Secret": "…" } | { "fail": "message" } } }`.
 * Protocol: https://github.com/docker/docker-credential-helpers (credentials/credentials.go):
 * the answer is `{"ServerURL","Username","Secret"}` on stdout; errors go to stdout with exit 1,
 * "credentials not found in native keychain" when it has nothing for the server.
 * Each call is appended to BOSUN_TEST_HELPER_LOG as `<name> <action> <stdin as JSON>`.
 */
import { appendFileSync, readFileSync } from 'node:fs';
import * as path from 'node:path';

const name = path.basename(process.argv[1] ?? '').replace(/^docker-credential-/, '');
const action = process.argv[2] ?? '';
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = Buffer.concat(chunks).toString('utf8');
if (process.env.BOSUN_TEST_HELPER_LOG)
  appendFileSync(process.env.BOSUN_TEST_HELPER_LOG, `${name} ${action} ${JSON.stringify(input)}\n`);

function fail(message) {
  process.stdout.write(`${message}\n`);
  process.exit(1);
}

if (action !== 'get') fail(`${name}: unknown action: ${action}`);
const serverURL = input.trim();
if (serverURL === '') fail('no credentials server URL');
const store = JSON.parse(readFileSync(process.env.BOSUN_TEST_HELPER_STORE ?? '', 'utf8'));
const entry = store[name]?.[serverURL];
if (entry === undefined) fail('credentials not found in native keychain');
if (entry.fail !== undefined) fail(entry.fail);
process.stdout.write(`${JSON.stringify({ ServerURL: serverURL, ...entry })}\n`);
