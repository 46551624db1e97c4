#!/usr/bin/env -S node --max-semi-space-size=8
// The young generation is capped at 3 × 8 MB: with V8's default (up to 3 × 32 MB) a training
// run's short-lived arrays push resident memory ~150 MB higher at no gain in speed
// (docs/performance.md, "Memory").
// Node ≥ 22.18 runs the TypeScript sources directly (type stripping); npm scripts and npx
// put the bundled Node 24 (devDependency `node`) first on PATH.
import "../src/cli/main.ts"
