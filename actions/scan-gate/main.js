// Generated from the declaration of `scan-gate`. Do not edit by hand:
// run `BITVAULT_BLESS=1 cargo test -p bitvault --test generated`.
'use strict';
require("../../scripts/action.js").run("scan-gate", require('node:path').join(__dirname, "../../scripts/setup.sh"));
