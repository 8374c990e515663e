/**
 * API key enforcement end to end on LocalStack in host mode (scripts/servers/localstack.sh): moto
 * stores usage plans but never invokes an API, so only here is it checked that a key is accepted while
 * it is in either usage plan and refused (403) while it is in none: after a promotion, a demotion, and
 * between the halves of a move whose second half failed. LocalStack has no GetUsage and does not
 * enforce one plan per key per stage (the in-memory PlanAdmin models that).
 */
import { assert, describe, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { fileURLToPath } from "node:url"
import { promisify } from "node:util"
import { afterAll, beforeAll } from "vitest"

const script = fileURLToPath(new URL("../../../scripts/servers/localstack.sh", import.meta.url))
// Asynchronous: a blocked worker fails the run with vitest's `Timeout calling "onTaskUpdate"`.
const run = promisify(execFile)

describe("LocalStack: a key is accepted in either plan and refused in none", () => {
  let startedHere = false
  beforeAll(async () => {
    // Idempotent; `npm test` starts it with the other servers, so this installs only on a bare run.
    const { stdout } = await run("bash", [script, "start"], { timeout: 25 * 60_000, maxBuffer: 16 * 1024 * 1024 })
    startedHere = !stdout.includes("already answering")
  }, 26 * 60_000)
  afterAll(async () => {
    if (startedHere) await run("bash", [script, "stop"])
  }, 60_000)

  it("every step of the key's life answers as API Gateway would", async () => {
    const { stdout } = await run("bash", [script, "check"], { timeout: 5 * 60_000 }).catch(
      (e: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`${e.stdout ?? ""}${e.stderr ?? ""}${e.message}`)
      }
    )
    const lines = stdout.trim().split("\n")
    assert.strictEqual(lines.at(-1), "7 passed, 0 failed", stdout)
    assert.isFalse(lines.some((line) => line.startsWith("FAIL")), stdout)
  }, 6 * 60_000)
})
