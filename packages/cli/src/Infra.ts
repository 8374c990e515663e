/**
 * `infra status`: one pass/fail line per dependency: the customer table with its sync index and TTL,
 * both usage plans, the Stripe meter and metered price, and whether a webhook secret is configured.
 * In local mode the same questions are asked of the local store.
 *
 * @since 0.1.0
 */
import type { StripeAdapter, StripeClient } from "@augint-billing/adapters-stripe"
import { BillingConfig, type Ids } from "@augint-billing/core"
import { FileSystem } from "@effect/platform"
import { Effect, Option, Redacted, Schema } from "effect"
import { CliMode, withPorts } from "./Environment.js"
import { aws, stripe } from "./internal/adapters.js"
import { describeError } from "./internal/errors.js"

/** One dependency's state. @since 0.1.0 @category models */
export const Check = Schema.Struct({ name: Schema.String, ok: Schema.Boolean, detail: Schema.String })
/** One dependency's state. @since 0.1.0 @category models */
export type Check = typeof Check.Type

/** Every check, and whether all passed. @since 0.1.0 @category models */
export const Report = Schema.Struct({
  mode: Schema.Literal("local", "aws"),
  ok: Schema.Boolean,
  checks: Schema.Array(Check)
})
/** Every check, and whether all passed. @since 0.1.0 @category models */
export type Report = typeof Report.Type

const check = <E, R>(name: string, detail: Effect.Effect<string, E, R>): Effect.Effect<Check, never, R> =>
  detail.pipe(
    Effect.timeout("20 seconds"),
    Effect.match({
      onFailure: (e) => ({ name, ok: false, detail: describeError(e) }),
      onSuccess: (d) => ({ name, ok: true, detail: d })
    }),
    Effect.catchAllDefect((d) => Effect.succeed({ name, ok: false, detail: describeError(d) }))
  )

class CheckFailed extends Schema.TaggedError<CheckFailed>()("CheckFailed", { message: Schema.String }) {}
const fail = (message: string) => Effect.fail(new CheckFailed({ message }))

const tableCheck = Effect.gen(function*() {
  const { DynamoCustomerRepo } = yield* aws
  const L = DynamoCustomerRepo.TableLayout
  const table = yield* DynamoCustomerRepo.describeTableConfig
  const name = table.tableName
  if (table.status !== "ACTIVE") return yield* fail(`table ${name} is ${table.status}`)
  const index = table.indexes.find((i) => i.indexName === L.syncIndex)
  if (index === undefined) return yield* fail(`table ${name} has no index ${L.syncIndex}`)
  const keys = index.keySchema.map((k) => `${k.attributeName}:${k.keyType}`).join(",")
  if (keys !== `${L.syncAttribute}:HASH,${L.partitionKey}:RANGE` || index.projection !== "ALL") {
    return yield* fail(
      `index ${L.syncIndex} is ${keys} (${index.projection}), not ${L.syncAttribute}/${L.partitionKey} ALL`
    )
  }
  if (index.status !== "ACTIVE") return yield* fail(`index ${L.syncIndex} is ${index.status}`)
  if (table.ttl.status !== "ENABLED" || table.ttl.attributeName !== L.ttlAttribute) {
    return yield* fail(`TTL on ${L.ttlAttribute} is not enabled (${table.ttl.status})`)
  }
  return `${name}: ACTIVE, index ${L.syncIndex} ACTIVE, TTL on ${L.ttlAttribute}`
})

const planCheck = (usagePlanId: string) =>
  Effect.flatMap(aws, ({ ApiGateway }) =>
    ApiGateway.describeUsagePlan(usagePlanId).pipe(
      Effect.map((plan) => `${plan.id} (${plan.name ?? "unnamed"}) exists`),
      Effect.provide(ApiGateway.layerConfig)
    ))

const stripeOptions = Effect.gen(function*() {
  const { Secrets } = yield* aws
  const { StripeAdapter } = yield* stripe
  return yield* Effect.gen(function*() {
    const secrets = yield* Secrets.StripeSecrets
    return yield* StripeAdapter.loadOptions({
      secretKey: secrets.stripeSecretKey,
      webhookSecret: secrets.webhookSecret.pipe(Effect.orElseSucceed(() => StripeAdapterUnused))
    })
  }).pipe(Effect.provide(Secrets.layerConfig))
})

// Stands in for a missing webhook secret where only the API key is used; never sent anywhere.
const StripeAdapterUnused = Redacted.make("whsec_unused_by_the_cli")

const withStripe = <A, E>(
  f: (client: StripeClient.StripeClientService, options: StripeAdapter.Options) => Effect.Effect<A, E>
) =>
  Effect.gen(function*() {
    const options = yield* stripeOptions
    const { StripeClient } = yield* stripe
    const client = yield* StripeClient.make(options)
    return yield* f(client, options)
  }).pipe(Effect.scoped)

const meterCheck = (eventName: string) =>
  withStripe((client, options) =>
    Effect.gen(function*() {
      if (options.meterId !== undefined) {
        const id = options.meterId
        const meter = yield* client.call((sdk) => sdk.billing.meters.retrieve(id))
        if (meter.status !== "active") return yield* fail(`meter ${meter.id} is ${meter.status}`)
        return `meter ${meter.id} (${meter.event_name}) is active`
      }
      const meters = yield* client.call((sdk) => sdk.billing.meters.list({ status: "active", limit: 100 }))
      const meter = meters.data.find((m) => m.event_name === eventName)
      if (meter === undefined) return yield* fail(`no active meter with event_name ${eventName}`)
      return `meter ${meter.id} (${eventName}) is active`
    })
  )

const priceCheck = withStripe((client, options) =>
  Effect.gen(function*() {
    const metered = (p: { readonly active: boolean; readonly recurring: { readonly usage_type: string } | null }) =>
      p.active && p.recurring?.usage_type === "metered"
    const price = options.meteredPrice
    if ("priceId" in price) {
      const p = yield* client.call((sdk) => sdk.prices.retrieve(price.priceId))
      if (!metered(p)) return yield* fail(`price ${p.id} is not an active metered recurring price`)
      return `price ${p.id} is active and metered`
    }
    const list = yield* client.call((sdk) => sdk.prices.list({ product: price.productId, active: true, limit: 100 }))
    const found = list.data.filter(metered)
    if (found.length !== 1) {
      return yield* fail(`product ${price.productId} has ${found.length} active metered prices, not exactly one`)
    }
    return `product ${price.productId}: price ${found[0]!.id} is active and metered`
  })
)

const webhookCheck = Effect.flatMap(aws, ({ Secrets }) =>
  Effect.gen(function*() {
    const secrets = yield* Secrets.StripeSecrets
    yield* secrets.webhookSecret
    return "configured (value not shown)"
  }).pipe(Effect.provide(Secrets.layerConfig)))

/** Run every check. @since 0.1.0 @category flows */
export const status = Effect.gen(function*() {
  const mode = yield* CliMode
  const config = yield* BillingConfig.BillingConfig
  if (mode._tag === "Local") {
    const s = mode.local.state
    const plan = (id: Ids.UsagePlanId) => ({
      name: `usage plan ${id}`,
      ok: s.usagePlans.has(id),
      detail: s.usagePlans.has(id) ? "exists in the local API Gateway" : "missing"
    })
    const checks: Array<Check> = [
      { name: "table", ok: true, detail: `local store ${mode.dir} (${s.records.size} customers)` },
      plan(config.freePlanId),
      plan(config.meteredPlanId),
      { name: "stripe meter", ok: true, detail: `local Stripe (${config.meterEventName})` },
      { name: "metered price", ok: true, detail: "local Stripe" },
      { name: "webhook secret", ok: true, detail: "local Stripe's own (value not shown)" }
    ]
    const report: Report = { mode: "local", ok: checks.every((c) => c.ok), checks }
    return report
  }
  const checks = yield* Effect.all([
    check("table", tableCheck),
    check(`usage plan ${config.freePlanId} (free)`, planCheck(config.freePlanId)),
    check(`usage plan ${config.meteredPlanId} (metered)`, planCheck(config.meteredPlanId)),
    check("stripe meter", meterCheck(config.meterEventName)),
    check("metered price", priceCheck),
    check("webhook secret", webhookCheck)
  ], { concurrency: "unbounded" })
  const report: Report = { mode: "aws", ok: checks.every((c) => c.ok), checks }
  return report
})

/** The report as text, one line per check. @since 0.1.0 @category utils */
export const format = (r: Report): string =>
  r.checks.map((c) => `${c.ok ? "pass" : "FAIL"}  ${c.name.padEnd(28)} ${c.detail}`).join("\n")

/**
 * What `table create` did.
 *
 * @since 0.2.0
 * @category models
 */
export const TableResult = Schema.Struct({ table: Schema.String, result: Schema.Literal("Created", "AlreadyExists") })
/**
 * What `table create` did.
 *
 * @since 0.2.0
 * @category models
 */
export type TableResult = typeof TableResult.Type

/**
 * Create the customer table (AWS mode) or the local store (`dir`, local mode); idempotent.
 *
 * @since 0.2.0
 * @category flows
 */
export const createTable = (dir: Option.Option<string>) =>
  Effect.gen(function*() {
    if (Option.isSome(dir)) {
      const existed = yield* Effect.flatMap(FileSystem.FileSystem, (fs) => fs.exists(`${dir.value}/state.json`))
      yield* withPorts(dir, { persist: true }, Effect.void)
      const local: TableResult = { table: dir.value, result: existed ? "AlreadyExists" : "Created" }
      return local
    }
    const { DynamoCustomerRepo } = yield* aws
    const options = yield* DynamoCustomerRepo.optionsConfig
    const result: TableResult = { table: options.tableName, result: yield* DynamoCustomerRepo.createTable(options) }
    return result
  })

/**
 * The result as one line of text (`local` for the local store).
 *
 * @since 0.2.0
 * @category utils
 */
export const formatTable = (local: boolean) => (r: TableResult): string =>
  `${local ? "local store" : "table"} ${r.table}: ${r.result}`
