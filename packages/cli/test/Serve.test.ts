// `ai-billing serve` end to end: the built command spawned on a free port, deliveries signed as Stripe
// signs them (the stripe SDK's generateTestHeaderStringAsync), the local state read back by the CLI.
import { assert, describe, it } from "@effect/vitest"
import { type ChildProcess, spawn } from "node:child_process"
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { hostname } from "node:os"
import { join } from "node:path"
import StripeSdk from "stripe"
import { startTimeOf } from "../src/internal/lock.js"
import { bin, run, tempDir } from "./support/Cli.js"

// A fresh local store's secret (testkit's MemoryState default).
const STORE_SECRET = "whsec_testkit"

interface Serving {
  readonly child: ChildProcess
  readonly url: string
  readonly stderr: () => string
  readonly exited: Promise<number | null>
}

const serve = (dir: string, extra: ReadonlyArray<string> = [], env: Record<string, string> = {}) =>
  new Promise<Serving>((resolve, reject) => {
    const child = spawn(process.execPath, [bin, "--local", dir, "serve", "--port", "0", ...extra], {
      env: { PATH: process.env["PATH"] ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stderr = ""
    const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)))
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString()
      const url = /on (http:\/\/127\.0\.0\.1:\d+\/webhook)/.exec(stderr)?.[1]
      if (url !== undefined) resolve({ child, url, stderr: () => stderr, exited })
    })
    child.on("exit", (code) => reject(new Error(`serve exited ${code}: ${stderr}`)))
  })

const post = async (url: string, payload: string, signature?: string) => {
  const r = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(signature === undefined ? {} : { "stripe-signature": signature })
    },
    body: payload
  })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

const signed = (payload: string, secret = STORE_SECRET) =>
  StripeSdk.webhooks.generateTestHeaderStringAsync({ payload, secret })

const setupSucceeded = (id: string, customer: string) =>
  JSON.stringify({
    id,
    object: "event",
    type: "setup_intent.succeeded",
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: `seti_${id}`, object: "setup_intent", customer, status: "succeeded" } }
  })

const cli = async (dir: string, args: ReadonlyArray<string>) => {
  const r = await run(["--local", dir, "--json", ...args])
  assert.strictEqual(r.code, 0, `${args.join(" ")}: ${r.stderr}`)
  return JSON.parse(r.stdout) as Record<string, unknown>
}

const planOf = async (dir: string, customer: string) =>
  ((await cli(dir, ["customers", "show", customer]))["customer"] as { plan: string }).plan

const stop = async (s: Serving) => {
  s.child.kill("SIGTERM")
  return s.exited
}

describe("ai-billing serve", () => {
  it("promotes on a signed setup_intent.succeeded, answers a redelivery Duplicate, and logs one line each", async () => {
    const dir = tempDir()
    const s = await serve(dir)
    try {
      // The store is locked per delivery: other commands run while serve does.
      await cli(dir, ["customers", "link", "cus_s1", "key_s1"])
      const payload = setupSucceeded("evt_serve_promote", "cus_s1")
      const first = await post(s.url, payload, await signed(payload))
      assert.deepStrictEqual(first, { status: 200, body: { received: true, outcome: "Applied" } })
      assert.strictEqual(await planOf(dir, "cus_s1"), "METERED")
      const again = await post(s.url, payload, await signed(payload))
      assert.deepStrictEqual(again, { status: 200, body: { received: true, outcome: "Duplicate" } })
      assert.strictEqual(s.stderr().split("\n").filter((l) => l.includes("evt_serve_promote")).length, 2)
      assert.include(s.stderr(), "200 evt_serve_promote (setup_intent.succeeded): Applied Promote for cus_s1")
    } finally {
      await stop(s)
    }
  })

  it("refuses a tampered body, a missing header, GET and an oversized body as the Lambda does; state unchanged", async () => {
    const dir = tempDir()
    await cli(dir, ["customers", "link", "cus_s2", "key_s2"])
    const before = readFileSync(join(dir, "state.json"), "utf8")
    const s = await serve(dir)
    try {
      const payload = setupSucceeded("evt_serve_tampered", "cus_s2")
      const tampered = payload.replace("cus_s2", "cus_s9")
      assert.deepStrictEqual(await post(s.url, tampered, await signed(payload)), {
        status: 400,
        body: { error: "BadSignature" }
      })
      assert.deepStrictEqual(await post(s.url, payload), { status: 400, body: { error: "MissingHeader" } })
      const get = await fetch(s.url)
      assert.strictEqual(get.status, 405)
      const big = JSON.stringify({ pad: "x".repeat(300 * 1024) })
      assert.strictEqual((await post(s.url, big, await signed(big))).status, 413)
      assert.strictEqual(readFileSync(join(dir, "state.json"), "utf8"), before)
      assert.strictEqual(await planOf(dir, "cus_s2"), "FREE")
    } finally {
      await stop(s)
    }
  })

  it("verifies with --webhook-secret (what stripe listen prints) instead of the store's", async () => {
    const dir = tempDir()
    await cli(dir, ["customers", "link", "cus_s3", "key_s3"])
    const s = await serve(dir, ["--webhook-secret", "whsec_from_stripe_listen"])
    try {
      const payload = setupSucceeded("evt_serve_given", "cus_s3")
      assert.strictEqual((await post(s.url, payload, await signed(payload))).status, 400)
      const ok = await post(s.url, payload, await signed(payload, "whsec_from_stripe_listen"))
      assert.strictEqual(ok.status, 200)
      assert.strictEqual(await planOf(dir, "cus_s3"), "METERED")
    } finally {
      await stop(s)
    }
    // The given secret verified deliveries only: the store keeps its own.
    const doc = JSON.parse(readFileSync(join(dir, "state.json"), "utf8")) as { webhookSecret: string }
    assert.strictEqual(doc.webhookSecret, STORE_SECRET)
  })

  it("trigger signs test events for a customer: promote, a failed payment with a retry, the final one", async () => {
    const dir = tempDir()
    await cli(dir, ["customers", "link", "cus_s4", "key_s4"])
    const s = await serve(dir)
    try {
      const t = (args: ReadonlyArray<string>) => cli(dir, ["trigger", ...args, "--customer", "cus_s4", "--url", s.url])
      assert.strictEqual((await t(["setup_intent.succeeded"]))["status"], 200)
      assert.strictEqual(await planOf(dir, "cus_s4"), "METERED")
      // A retry scheduled (next_payment_attempt set): Stripe will try again, no demotion yet.
      await t(["invoice.payment_failed"])
      assert.strictEqual(await planOf(dir, "cus_s4"), "METERED")
      await t(["invoice.payment_failed", "--final"])
      assert.strictEqual(await planOf(dir, "cus_s4"), "FREE")
      const bad = await run([
        "--local",
        dir,
        "trigger",
        "invoice.paid",
        "--customer",
        "cus_s4",
        "--url",
        s.url,
        "--webhook-secret",
        "whsec_wrong"
      ])
      assert.strictEqual(bad.code, 1)
      assert.include(bad.stdout, "400")
    } finally {
      await stop(s)
    }
  })

  it("answers 500 (Stripe retries) while another command holds the store, then handles the redelivery", async () => {
    const dir = tempDir()
    await cli(dir, ["customers", "link", "cus_s6", "key_s6"])
    const s = await serve(dir)
    try {
      // Held by a live process (this one): a lock naming no pid would be taken over as stale.
      writeFileSync(
        join(dir, "lock"),
        JSON.stringify({ pid: process.pid, start: startTimeOf(process.pid), host: hostname() })
      )
      const payload = setupSucceeded("evt_serve_busy", "cus_s6")
      assert.deepStrictEqual(await post(s.url, payload, await signed(payload)), {
        status: 500,
        body: { error: "Retry" }
      })
      rmSync(join(dir, "lock"))
      assert.strictEqual((await post(s.url, payload, await signed(payload))).status, 200)
      assert.strictEqual(await planOf(dir, "cus_s6"), "METERED")
    } finally {
      await stop(s)
    }
  })

  it("SIGTERM stops it with the state saved and the lock released", async () => {
    const dir = tempDir()
    await cli(dir, ["customers", "link", "cus_s5", "key_s5"])
    const s = await serve(dir)
    const payload = setupSucceeded("evt_serve_term", "cus_s5")
    assert.strictEqual((await post(s.url, payload, await signed(payload))).status, 200)
    const code = await stop(s)
    assert.include(s.stderr(), "serve stopped")
    // 128 + SIGTERM's 15, as a shell reports a process the signal ended (Ctrl-C is 130).
    assert.strictEqual(code, 143)
    assert.isFalse(existsSync(join(dir, "lock")))
    assert.strictEqual(await planOf(dir, "cus_s5"), "METERED")
  })

  it("trigger says when nothing listens", async () => {
    const dir = tempDir()
    const r = await run([
      "--local",
      dir,
      "trigger",
      "invoice.paid",
      "--customer",
      "cus_x",
      "--url",
      "http://127.0.0.1:9/webhook"
    ])
    assert.strictEqual(r.code, 1)
    assert.include(r.stderr, "start ai-billing serve first")
  })
})
