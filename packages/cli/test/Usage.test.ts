import { assert, describe, it } from "@effect/vitest"
import { statSync } from "node:fs"
import { compiledBin, run, tempDir } from "./support/Cli.js"

describe("usage", () => {
  it("--help lists every command with an example", async () => {
    const r = await run(["--help"])
    assert.strictEqual(r.code, 0)
    for (
      const command of [
        "env-dump",
        "handle-event",
        "sync-usage",
        "monitor dashboard",
        "infra status",
        "customers list",
        "customers show",
        "customers link",
        "customers unlink",
        "plan promote",
        "plan demote",
        "reconcile",
        "replay-events",
        "table create",
        "local seed",
        "demo"
      ]
    ) {
      assert.include(r.stdout, command)
    }
    const sub = await run(["sync-usage", "--help"])
    assert.strictEqual(sub.code, 0)
    assert.include(sub.stdout, "Example: ai-billing sync-usage")
  })

  it("the command runs the bundle, which answers as the compiled program does", async () => {
    // bin/ai-billing.js prefers the bundle while it is at least as new as the last tsc build.
    const mtime = (path: string) => statSync(new URL(path, import.meta.url)).mtimeMs
    assert.isAtLeast(mtime("../dist/bundle/ai-billing.mjs"), mtime("../dist/.tsbuildinfo"))
    const dir = tempDir()
    for (const args of [["--help"], ["--json", "--local", dir, "infra", "status"], ["frobnicate"]]) {
      const bundled = await run(args)
      assert.deepStrictEqual(bundled, await run(args, { entry: compiledBin }), args.join(" "))
    }
  })

  it("--version prints the version", async () => {
    const r = await run(["--version"])
    assert.strictEqual(r.code, 0)
    assert.match(r.stdout, /^\d+\.\d+\.\d+/)
  })

  it("an unknown command, a missing option, a malformed id or date are usage errors (exit 2)", async () => {
    const dir = tempDir()
    for (
      const args of [
        ["frobnicate"],
        ["--local", dir, "handle-event"],
        ["--local", dir, "customers", "show", "not-a-customer"],
        ["--local", dir, "sync-usage", "--at", "yesterday-ish"],
        ["--local", dir, "reconcile", "--from", "2026-02-30"],
        ["--local", dir, "reconcile", "--from", "2026-03-09", "--to", "2026-03-01"]
      ]
    ) {
      const r = await run(args)
      assert.strictEqual(r.code, 2, `${args.join(" ")}: ${r.stderr}`)
      assert.strictEqual(r.stdout.includes("Error:"), false)
    }
  })

  it("a failure is one line on stderr and exit 1; --log-level=debug adds the cause", async () => {
    const dir = tempDir()
    const r = await run(["--local", dir, "customers", "show", "cus_nobody"])
    assert.strictEqual(r.code, 1)
    assert.strictEqual(r.stderr.trim().split("\n").length, 1)
    assert.match(r.stderr, /^ai-billing: no customer cus_nobody/)
    const debug = await run(["--local", dir, "customers", "show", "cus_nobody", "--log-level=debug"])
    assert.strictEqual(debug.code, 1)
    assert.isAbove(debug.stderr.trim().split("\n").length, 1)
  })

  it("env-dump never prints a secret", async () => {
    const secret = "sk_test_supersecretvalue123"
    const r = await run(["env-dump", "--json"], {
      env: { STRIPE_SECRET_KEY: secret, STRIPE_WEBHOOK_SECRET: "whsec_alsosecret", AWS_REGION: "us-east-1" }
    })
    assert.strictEqual(r.code, 0)
    assert.notInclude(r.stdout + r.stderr, "supersecret")
    assert.notInclude(r.stdout + r.stderr, "alsosecret")
    const dump = JSON.parse(r.stdout) as { variables: Record<string, string | null>; mode: string }
    assert.strictEqual(dump.variables["STRIPE_SECRET_KEY"], "<redacted>")
    assert.strictEqual(dump.variables["STRIPE_WEBHOOK_SECRET"], "<redacted>")
    assert.strictEqual(dump.mode, "aws")
  })
})
