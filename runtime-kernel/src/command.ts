#!/usr/bin/env node
import { holdOptimizer } from "./boot-optimizer";
import type * as Cli from "./cli";

/**
 * The `ottavo` command's entry (what dist/ottavo.js is bundled from): holds V8's
 * optimiser off before the runtime's modules load (boot-optimizer.ts), then runs
 * cli.ts, which releases it once the runtime serves. cli.ts itself stays
 * runnable as a script, without the hold.
 */
holdOptimizer();
(require("./cli") as typeof Cli).runCommand(process.argv.slice(2));
