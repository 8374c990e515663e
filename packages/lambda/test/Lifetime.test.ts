// A container's lifetime, on the handler: the runtime built at init is disposed on SIGTERM (its
// finalizers run, then the process exits), and every JSON line an invocation writes (logs and EMF)
// carries that invocation's X-Ray trace id.
import { BillingConfig } from "@augint-billing/core"
import { Memory } from "@augint-billing/testkit"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { EventEmitter } from "node:events"
import { Emf, LambdaRuntime, Webhook } from "../src/index.js"
import * as Events from "./support/Events.js"

const secret = "whsec_lifetime"

const container = async (onFinalize: () => void, shutdown: Partial<LambdaRuntime.Shutdown> = {}) => {
  const lines: Array<string> = []
  const sink = (line: string) => void lines.push(line)
  const runtime = await LambdaRuntime.make(
    "webhook",
    Layer.mergeAll(
      Memory.layerMemory({ webhookSecret: secret }),
      BillingConfig.layer(),
      Webhook.layerLimits(),
      Emf.layer("webhook", { sink }),
      Layer.scopedDiscard(Effect.addFinalizer(() => Effect.sync(onFinalize)))
    ),
    sink,
    shutdown
  )
  return { runtime, lines, handler: Webhook.toHandler(runtime) }
}

const deliver = async (handler: (e: Webhook.WebhookEvent) => Promise<Webhook.WebhookResponse>, id: string) => {
  const payload = JSON.stringify({ id, object: "event", created: 1, type: "balance.available", data: {} })
  const signature = await Events.sign(payload, secret, Math.floor(Date.now() / 1000))
  return handler(Events.functionUrl({ body: payload, headers: { "stripe-signature": signature } }))
}

const until = async (done: () => boolean) => {
  for (let i = 0; i < 200 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 5))
}

describe("the Lambda runtime's lifetime", () => {
  it("SIGTERM disposes the runtime (finalizers run), then the process exits", async () => {
    const signals = new EventEmitter()
    const exits: Array<number> = []
    let finalized = false
    const { handler, lines } = await container(() => (finalized = true), {
      signals,
      exit: (code) => void exits.push(code)
    })
    assert.strictEqual((await deliver(handler, "evt_before_sigterm")).statusCode, 200)
    assert.isFalse(finalized)
    signals.emit("SIGTERM")
    await until(() => exits.length > 0)
    assert.isTrue(finalized)
    assert.deepStrictEqual(exits, [0])
    assert.isTrue(lines.some((l) => l.includes("SIGTERM: runtime disposed")))
  })

  it("a disposal slower than the budget does not outlive it: the process exits at the budget", async () => {
    const signals = new EventEmitter()
    const exits: Array<number> = []
    const hang = { dispose: () => new Promise<void>(() => {}) }
    LambdaRuntime.disposeOnSigterm(hang, () => {}, { signals, exit: (code) => void exits.push(code), budgetMillis: 20 })
    signals.emit("SIGTERM")
    await until(() => exits.length > 0)
    assert.deepStrictEqual(exits, [0])
  })

  it("every JSON line of an invocation, logs and metrics, carries its X-Ray trace id", async () => {
    const { handler, lines, runtime } = await container(() => {}, { signals: { once: () => undefined } })
    const before = process.env._X_AMZN_TRACE_ID
    try {
      const ids = ["1-67891233-abcdef012345678912345678", "1-67891234-0123456789abcdef01234567"]
      for (const [i, id] of ids.entries()) {
        lines.length = 0
        // Set by the Lambda runtime before each invocation (docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html).
        process.env._X_AMZN_TRACE_ID = `Root=${id};Parent=557abcec3ee5a047;Sampled=1`
        assert.strictEqual((await deliver(handler, `evt_traced_${i}`)).statusCode, 200)
        assert.isAtLeast(lines.length, 2)
        for (const line of lines) assert.strictEqual((JSON.parse(line) as { traceId?: string }).traceId, id, line)
        assert.isTrue(lines.some((l) => l.includes("\"_aws\"")), "an EMF line")
      }
    } finally {
      if (before === undefined) delete process.env._X_AMZN_TRACE_ID
      else process.env._X_AMZN_TRACE_ID = before
      await runtime.dispose()
    }
  })
})
