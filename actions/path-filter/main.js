// Generated from the declaration of `path-filter`. Do not edit by hand:
// run `BITVAULT_BLESS=1 cargo test -p bitvault --test generated`.
'use strict';
require("../../scripts/action.js").run("path-filter", require('node:path').join(__dirname, "../../scripts/setup.sh"));
