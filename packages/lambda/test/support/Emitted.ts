// The metrics the handlers really write, collected from their EMF lines: a sync that succeeds, one that
// fails, one cut short, webhook deliveries including a meter error report, and the fan-out's reporters. Each entry is
// `Name|Dim1=v1,Dim2=v2` over every dimension of the document (CloudWatch matches all of them).
import { BillingConfig, Ids, UsageSource } from "@augint-billing/core"
import { Driver, Memory } from "@augint-billing/testkit"
import { Duration, Effect, Fiber, Layer, Logger, TestClock, TestContext } from "effect"
import { Emf, Schedule, Webhook } from "../../src/index.js"
import * as Events from "./Events.js"

interface Document {
  readonly _aws: {
    readonly CloudWatchMetrics: ReadonlyArray<{
      readonly Namespace: string
      readonly Dimensions: ReadonlyArray<ReadonlyArray<string>>
      readonly Metrics: ReadonlyArray<{ readonly Name: string }>
    }>
  }
  readonly [key: string]: unknown
}

/** `Name|Dim=value,...` of one metric, dimensions sorted by name. */
export const metricKey = (name: string, dimensions: Readonly<Record<string, string>>): string =>
  `${name}|${Object.keys(dimensions).sort().map((d) => `${d}=${dimensions[d]}`).join(",")}`

/** Run the scenarios; every metric written, under the namespace `namespace`. */
export const emitted = (namespace: string): Promise<ReadonlySet<string>> => {
  const lines: Array<string> = []
  const sink = (line: string) => void lines.push(line)
  const secret = "whsec_emitted"
  const base = Layer.mergeAll(
    Memory.layerMemory({ webhookSecret: secret }),
    BillingConfig.layer(),
    Webhook.layerLimits(),
    Logger.remove(Logger.defaultLogger)
  )
  const program = Effect.gen(function*() {
    yield* TestClock.setTime(Date.UTC(2026, 2, 31, 10))
    const driver = yield* Driver.Driver
    yield* driver.signUp({ customerId: Ids.CustomerId.make("cus_m"), apiKeyId: Ids.ApiKeyId.make("key_m") })
    yield* Schedule.handle(Events.scheduled()).pipe(Effect.provide(Emf.layer("schedule", { namespace, sink })))
    yield* driver.failNext("UsageSource.getUsagePage", {
      error: new UsageSource.UsageSourceError({ reason: "BadRequest", message: "no such plan" })
    })
    yield* Effect.exit(
      Schedule.handle(Events.scheduled()).pipe(Effect.provide(Emf.layer("schedule", { namespace, sink })))
    )
    yield* driver.setLatency("UsageSource.getUsagePage", "1 minute")
    const cut = yield* Effect.fork(Effect.exit(
      Schedule.handle(Events.scheduled(), { budget: Duration.seconds(1) }).pipe(
        Effect.provide(Emf.layer("schedule", { namespace, sink }))
      )
    ))
    yield* TestClock.adjust("2 minutes")
    yield* Fiber.join(cut)
    // The fan-out's reporters write every metric of their function at each flush, zeros included
    // (SyncCoordinator.test and SyncWorker.test check the values the handlers write).
    for (const fn of ["coordinator", "worker"] as const) {
      yield* Effect.flatMap(Emf.make(fn, { namespace, sink }), (r) => r.flush)
    }
    for (const type of ["v1.billing.meter.error_report_triggered", "balance.available"]) {
      const payload = JSON.stringify({ id: `evt_${type}`, object: "event", type, created: 1, data: {} })
      const signature = yield* driver.signWebhook(payload)
      yield* Webhook.handle(Events.restV1({ body: payload, headers: { "Stripe-Signature": signature } })).pipe(
        Effect.provide(Emf.layer("webhook", { namespace, sink }))
      )
    }
  })
  return Effect.runPromise(program.pipe(Effect.provide(base), Effect.provide(TestContext.TestContext))).then(() => {
    const keys = new Set<string>()
    for (const doc of lines.map((l) => JSON.parse(l) as Document)) {
      for (const directive of doc._aws.CloudWatchMetrics) {
        if (directive.Namespace !== namespace) continue
        for (const dimensions of directive.Dimensions) {
          const values = Object.fromEntries(dimensions.map((d) => [d, String(doc[d])]))
          for (const m of directive.Metrics) keys.add(metricKey(m.Name, values))
        }
      }
    }
    return keys
  })
}
