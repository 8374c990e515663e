// The size budget of the bundles the functions deploy (built by globalSetup from the current source).
import { assert, describe, it } from "@effect/vitest"
import * as Fs from "node:fs"
import { budgetBytes, bundlePath, handlers } from "../src/internal/bundle.js"

describe("bundles", () => {
  for (const handler of handlers) {
    it(`${handler}: under ${budgetBytes.toLocaleString("en")} bytes`, () => {
      const bytes = Fs.statSync(bundlePath(handler)).size
      assert.isBelow(bytes, budgetBytes, `${handler} bundle is ${bytes} bytes`)
    })
  }
})
