// Benchmark baseline: dorny/paths-filter v3's matching and output loop (as
// mirrored in dorny-oracle.js: js-yaml + picomatch, every filter over every
// file) on the case in the JSON file named by argv[2]. Prints
// {"ms": <matching time>, "changes": <changes output>}.
'use strict';
const fs = require('fs');
const {runCase} = require('./dorny-oracle.js');

const c = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const start = process.hrtime.bigint();
const outputs = runCase(c);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const changes = (outputs.find(([k]) => k === 'changes') || [null, null])[1];
process.stdout.write(JSON.stringify({ms, changes, outputs: outputs.length}));
