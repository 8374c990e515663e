#!/usr/bin/env node
/**
 * `npm run bundle`: one esbuild bundle per handler, `dist-bundle/<handler>/index.mjs` (run after `tsc -b`).
 *
 * @since 0.1.0
 */
import * as Path from "node:path"
import { bundle, handlers, packageDir } from "../internal/bundle.js"

for (const handler of handlers) {
  const result = await bundle(handler)
  process.stdout.write(
    `${Path.relative(packageDir, result.outfile)}: ${(result.bytes / 1024).toFixed(1)} KiB minified\n`
  )
}
