#!/usr/bin/env node
// The installed `ai-billing` command. A committed file, so that npm links it in a fresh clone before
// the first build. The program is dist/bin.js (built from src/bin.ts); `npm run build` also bundles it,
// with what it imports, into dist/bundle/ai-billing.mjs, which starts about four times faster (a few
// files to load, not a thousand modules). The bundle runs unless it is missing or older than the last
// `tsc -b` (dist/.tsbuildinfo, touched also when a package it uses was rebuilt): then dist/bin.js.
import { statSync } from "node:fs"

const mtime = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs ?? -1
const bundle = "../dist/bundle/ai-billing.mjs"
await import(mtime(bundle) >= Math.max(0, mtime("../dist/.tsbuildinfo")) ? bundle : "../dist/bin.js")
