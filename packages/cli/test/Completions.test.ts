// The zsh and fish completion scripts, run in zsh and fish where they are installed: nested and
// hyphenated commands complete (bash's script is tested in Ergonomics.test.ts).
import { assert, describe, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { mkdirSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { fixZsh } from "../src/Completions.js"
import { run, tempDir } from "./support/Cli.js"

const has = (shell: string) => spawnSync(shell, ["--version"], { encoding: "utf8" }).status === 0
const zshComplete = fileURLToPath(new URL("./support/zsh-complete.zsh", import.meta.url))

const script = async (shell: string) => {
  const r = await run(["--completions", shell])
  assert.strictEqual(r.code, 0, r.stderr)
  return r.stdout
}

describe("zsh completions", () => {
  it("call each nested group's completer by the name it is defined with", () => {
    const generated = [
      "        \":: :_ai-billing__local__usage_commands\" \\",
      "_ai__billing__local__usage_commands() {",
      "if [ \"$funcstack[1]\" = \"_ai-billing_zsh_completions\" ]; then"
    ].join("\n")
    assert.deepStrictEqual(fixZsh(generated, "ai-billing").split("\n"), [
      "        \":: :_ai__billing__local__usage_commands\" \\",
      "_ai__billing__local__usage_commands() {",
      "if [ \"$funcstack[1]\" = \"_ai-billing_zsh_completions\" ] || [ \"$funcstack[1]\" = \"_ai-billing\" ]; then"
    ])
  })

  it.skipIf(!has("zsh"))("complete nested and hyphenated commands in zsh, sourced or from fpath", async () => {
    const dir = tempDir()
    const file = join(dir, "_ai-billing")
    writeFileSync(file, await script("zsh"))
    const fpath = join(dir, "fpath")
    mkdirSync(fpath)
    writeFileSync(join(fpath, "_ai-billing"), await script("zsh"))
    const complete = (where: string, line: string) =>
      spawnSync("zsh", ["-f", zshComplete, where, line], { encoding: "utf8", timeout: 30_000 }).stdout.trim().split(
        "\n"
      )
    assert.deepStrictEqual(complete(file, "ai-billing cust"), ["customers"])
    assert.deepStrictEqual(complete(file, "ai-billing customers "), [
      "cap",
      "card-link",
      "link",
      "list",
      "show",
      "unlink",
      "usage"
    ])
    assert.deepStrictEqual(complete(file, "ai-billing local usage "), ["add"])
    assert.include(complete(file, "ai-billing sync-usage --d"), "--dry-run")
    assert.include(complete(file, "ai-billing customers unlink --c"), "--close")
    assert.deepStrictEqual(complete(fpath, "ai-billing monitor "), ["dashboard"])
  })
})

describe("fish completions", () => {
  it.skipIf(!has("fish"))("complete nested and hyphenated commands in fish", async () => {
    const file = join(tempDir(), "ai-billing.fish")
    writeFileSync(file, await script("fish"))
    // `complete -C` prints what fish would offer for a command line, a tab before each description.
    const complete = (line: string) =>
      spawnSync("fish", ["--no-config", "-c", `source ${file}; complete -C '${line}'`], { encoding: "utf8" }).stdout
        .trim().split("\n").map((l) => l.split("\t")[0]!)
    assert.deepStrictEqual(complete("ai-billing cust"), ["customers"])
    assert.deepStrictEqual(complete("ai-billing customers ").sort(), [
      "cap",
      "card-link",
      "link",
      "list",
      "show",
      "unlink",
      "usage"
    ])
    assert.deepStrictEqual(complete("ai-billing local usage "), ["add"])
    assert.deepStrictEqual(complete("ai-billing sync-usage --dr"), ["--dry-run"])
    assert.include(complete("ai-billing customers unlink --c"), "--close")
    assert.deepStrictEqual(complete("ai-billing monitor "), ["dashboard"])
  })
})
