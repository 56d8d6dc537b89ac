// Oracle for the differential test of bitvault-path-filter's globs:
// answers picomatch(pattern, { dot: true })(path), as dorny/paths-filter v3
// calls it, for every [pattern, path] pair read as JSON from stdin.
// Prints a JSON array: true / false, or "throw" where picomatch throws.
'use strict';
const picomatch = require('picomatch');

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', d => (input += d));
process.stdin.on('end', () => {
  const {pairs} = JSON.parse(input);
  const cache = new Map();
  const out = pairs.map(([pattern, path]) => {
    let m = cache.get(pattern);
    if (m === undefined) {
      try {
        m = picomatch(pattern, {dot: true});
      } catch (e) {
        m = null;
      }
      cache.set(pattern, m);
    }
    if (m === null) return 'throw';
    return m(path);
  });
  process.stdout.write(JSON.stringify(out));
});
