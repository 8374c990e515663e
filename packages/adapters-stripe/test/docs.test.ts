import { assert, describe, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"

const src = join(import.meta.dirname, "..", "src")

// The doc comment right above each `export` line of the public modules (`internal/` is not public).
const exportsWithoutTags = (file: string): Array<string> => {
  const lines = readFileSync(join(src, file), "utf8").split("\n")
  const missing: Array<string> = []
  lines.forEach((line, i) => {
    if (!/^export\s/.test(line)) return
    const end = i - 1
    if (!/\*\/\s*$/.test(lines[end] ?? "")) return void missing.push(`${file}:${i + 1} ${line}`)
    let start = end
    while (start > 0 && !/^\s*\/\*\*/.test(lines[start] ?? "")) start--
    const comment = lines.slice(start, end + 1).join("\n")
    if (!/@since \d+\.\d+\.\d+/.test(comment) || !/@category \w+/.test(comment)) {
      missing.push(`${file}:${i + 1} ${line}`)
    }
  })
  return missing
}

describe("public API docs (issue 13)", () => {
  it("every exported name of adapters-stripe has a doc comment with @since and @category", () => {
    const files = readdirSync(src).filter((f) => f.endsWith(".ts"))
    assert.isAbove(files.length, 2)
    assert.deepStrictEqual(files.flatMap(exportsWithoutTags), [])
  })

  it("no source file holds more than 400 lines (one concept per file)", () => {
    const long = readdirSync(src).filter((f) => f.endsWith(".ts"))
      .map((f) => [f, readFileSync(join(src, f), "utf8").split("\n").length] as const)
      .filter(([, n]) => n > 400)
    assert.deepStrictEqual(long, [])
  })
})
