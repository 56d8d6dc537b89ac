// Runs one bitvault action as a JavaScript action (`runs.using: node24`).
//
// Why not a composite action: a composite action passes on only the outputs its
// action.yml declares, and path-filter's outputs are named after the caller's
// filters (`steps.filter.outputs.backend`, as with dorny/paths-filter). For a
// JavaScript action the runner passes on every output the step writes, sets
// `INPUT_<NAME>` for each input itself (defaults and `${{ github.token }}`
// included), and masks nothing we print.
//
// This file has no dependencies: it gets the binary exactly as the setup action
// does (setup.sh: BITVAULT_BIN, else the release archive checked against
// checksums.txt and the binary hashed, else a build from this checkout), then
// runs `bitvault <action>` with the step's environment and exits with its code.
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');

// `escapeData` of @actions/core: a message cannot start a second command.
function escapeData(s) {
  return String(s).replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function fail(message) {
  process.stderr.write(`::error title=bitvault::${escapeData(message)}\n`);
  process.exit(1);
}

/**
 * @param {string} action  the subcommand (`path-filter`, ...)
 * @param {string} setupScript  path of setup.sh
 */
function run(action, setupScript) {
  const env = { ...process.env, BITVAULT_ACTION_REF: process.env.GITHUB_ACTION_REF || '' };
  const setup = spawnSync('bash', [setupScript], {
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
  });
  if (setup.error) fail(`cannot run bash ${setupScript}: ${setup.error.message}`);
  // setup.sh has printed its own ::error:: line.
  if (setup.status !== 0) process.exit(setup.status || 1);
  const dir = setup.stdout.trim().split('\n').pop();
  if (!dir) fail(`${setupScript} printed no directory for the bitvault binary`);
  const bin = path.join(dir, 'bitvault');
  const result = spawnSync(bin, [action], { env, stdio: 'inherit' });
  if (result.error) fail(`cannot run ${bin}: ${result.error.message}`);
  if (result.signal) fail(`bitvault ${action} was stopped by ${result.signal}`);
  process.exit(result.status);
}

module.exports = { run };
