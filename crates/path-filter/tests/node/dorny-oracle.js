// Parity oracle: what dorny/paths-filter would output for given filters and
// changed files. It mirrors the published source of dorny/paths-filter
// v3.0.2 (src/filter.ts, src/main.ts exportResults/serializeExport,
// src/list-format/csv-escape.ts and shell-escape.ts) using the same npm
// packages (js-yaml 4, picomatch 2 with { dot: true }). It is a
// re-statement of that behaviour for testing, not dorny's code.
//
// stdin: JSON array of cases {filters, quantifier, format, files: [[path, status]]}
// stdout: JSON array of {outputs: [[name, value]]} or {error: message}
'use strict';
const yaml = require('js-yaml');
const picomatch = require('picomatch');

const opts = {dot: true};

function compileItem(item, config) {
  // A list (nested lists come from YAML aliases) is flattened.
  if (Array.isArray(item)) {
    return [].concat(...item.map(i => compileItem(i, config)));
  }
  if (typeof item === 'string') {
    return [{status: undefined, isMatch: picomatch(item, opts)}];
  }
  if (typeof item === 'object') {
    // `typeof null` is 'object': Object.entries(null) throws, as in dorny.
    return Object.entries(item).map(([key, pattern]) => {
      if (typeof pattern !== 'string' && !Array.isArray(pattern)) {
        throw new Error(`Invalid filter YAML format: bad pattern for ${key}.`);
      }
      const status = key
        .split('|')
        .map(s => s.trim())
        .filter(s => s.length > 0)
        .map(s => s.toLowerCase());
      return {status, isMatch: picomatch(pattern, opts)};
    });
  }
  throw new Error(`Invalid filter YAML format: Unexpected element type '${typeof item}'.`);
}

function loadFilters(text, config) {
  const doc = yaml.load(text);
  if (typeof doc !== 'object') throw new Error('Invalid filter YAML format: Root element is not an object.');
  const rules = {};
  for (const [name, item] of Object.entries(doc)) rules[name] = compileItem(item, config);
  return rules;
}

function fileMatches(file, rules, quantifier) {
  const one = r => (r.status === undefined || r.status.includes(file.status)) && r.isMatch(file.filename);
  return quantifier === 'every' ? rules.every(one) : rules.some(one);
}

const SAFE = /^[a-zA-Z0-9,._+:@%/-]+$/m;
const SAFE_CSV = /^[a-zA-Z0-9._+:@%/-]+$/m;
const SAFE_OR_QUOTE_SPACE = /^[a-zA-Z0-9,._+:@%/'\s-]+$/m;

function csv(v) {
  if (v === '') return v;
  if (SAFE_CSV.test(v)) return v;
  return '"' + v.replace(/"/g, '""') + '"';
}

function backslash(v) {
  return v.replace(/([^a-zA-Z0-9,._+:@%/-])/gm, '\\$1');
}

function shell(v) {
  if (v === '') return v;
  if (SAFE.test(v)) return v;
  if (v.includes("'")) {
    if (SAFE_OR_QUOTE_SPACE.test(v)) return '"' + v + '"';
    return v.split("'").map(shell).join("\\'");
  }
  return "'" + v + "'";
}

function serialize(names, format) {
  switch (format) {
    case 'csv':
      return names.map(csv).join(',');
    case 'json':
      return JSON.stringify(names);
    case 'escape':
      return names.map(backslash).join(' ');
    case 'shell':
      return names.map(shell).join(' ');
    default:
      return '';
  }
}

function runCase(c) {
  const rules = loadFilters(c.filters);
  const files = c.files.map(([filename, status]) => ({filename, status}));
  const outputs = [];
  const changes = [];
  const results = {};
  for (const [name, r] of Object.entries(rules)) {
    results[name] = files.filter(f => fileMatches(f, r, c.quantifier));
  }
  for (const [name, matched] of Object.entries(results)) {
    if (matched.length > 0) changes.push(name);
    outputs.push([name, String(matched.length > 0)]);
    outputs.push([`${name}_count`, String(matched.length)]);
    if (c.format !== 'none') outputs.push([`${name}_files`, serialize(matched.map(f => f.filename), c.format)]);
  }
  if (results['changes'] === undefined) outputs.push(['changes', JSON.stringify(changes)]);
  return outputs;
}

module.exports = {runCase};

if (require.main === module) {
let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', d => (input += d));
process.stdin.on('end', () => {
  const cases = JSON.parse(input);
  const out = cases.map(c => {
    try {
      return {outputs: runCase(c)};
    } catch (e) {
      return {error: String(e && e.message)};
    }
  });
  process.stdout.write(JSON.stringify(out));
});
}
