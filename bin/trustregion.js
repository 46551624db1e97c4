#!/usr/bin/env node
// Node ≥ 22.18 runs the TypeScript sources directly (type stripping); npm scripts and npx
// put the bundled Node 24 (devDependency `node`) first on PATH.
import "../src/cli/main.ts"
