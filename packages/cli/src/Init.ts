/**
 * `ai-billing init`: check (and with `create`, create) what a deployment needs in the user's accounts,
 * then write `samconfig.toml` for `sam deploy`. Every resource is looked up before it is created (the
 * meter by event name, the price by its meter, the webhook endpoint by URL, the usage plans by id or
 * name), and creations carry idempotency keys, so a second run creates nothing.
 *
 * @since 0.2.0
 */
import { StripeEvent } from "@augint-billing/core"
import { FileSystem } from "@effect/platform"
import { Config, Effect, Option, Redacted, Schema } from "effect"
import { checkUsagePlans, fail, message, Step, step } from "./InitUsagePlans.js"
import { stripe } from "./internal/adapters.js"
import { progress } from "./Output.js"
import { CliError, UsageError } from "./Shell.js"

/**
 * What `init` is asked for.
 *
 * @since 0.2.0
 * @category models
 */
export interface Input {
  readonly create: boolean
  readonly stackName: string
  readonly meterEventName: string
  readonly currency: string
  /** Price of one unit in the currency's minor unit (cents), a decimal string. */
  readonly unitAmount: string
  readonly productName: string
  readonly webhookUrl: Option.Option<string>
  readonly freePlanId: Option.Option<string>
  readonly meteredPlanId: Option.Option<string>
  /** Requests a month the free plan allows. */
  readonly freeQuota: number
  /** `apiId:stage` attached to the usage plans created. */
  readonly apiStage: Option.Option<string>
  readonly stripeSecretArn: Option.Option<string>
  readonly webhookSecretArn: Option.Option<string>
  /** Where to write samconfig.toml; none prints the parameters only. */
  readonly samconfig: Option.Option<string>
  readonly overwrite: boolean
}

/**
 * What `init` found, created and wrote, and what is left to do.
 *
 * @since 0.2.0
 * @category models
 */
export const Report = Schema.Struct({
  steps: Schema.Array(Step),
  parameters: Schema.Record({ key: Schema.String, value: Schema.String }),
  missing: Schema.Array(Schema.String),
  samconfig: Schema.NullOr(Schema.Struct({
    path: Schema.String,
    status: Schema.Literal("written", "unchanged", "kept", "not-written")
  })),
  nextSteps: Schema.Array(Schema.String)
})
/**
 * What `init` reports.
 *
 * @since 0.2.0
 * @category models
 */
export type Report = typeof Report.Type

// The Stripe client from STRIPE_SECRET_KEY (and STRIPE_API_HOST/PORT/PROTOCOL for stripe-mock).
const stripeClient = Effect.gen(function*() {
  const { StripeClient } = yield* stripe
  const settings = yield* Config.all({
    apiKey: Config.redacted("STRIPE_SECRET_KEY"),
    host: Config.option(Config.string("STRIPE_API_HOST")),
    port: Config.option(Config.integer("STRIPE_API_PORT")),
    protocol: Config.option(Config.literal("http", "https")("STRIPE_API_PROTOCOL"))
  }).pipe(Effect.mapError((e) => new UsageError({ message: `init needs a Stripe key: ${message(e)}` })))
  if (!/^(sk|rk)_(test|live)_/.test(Redacted.value(settings.apiKey))) {
    return yield* new UsageError({ message: "STRIPE_SECRET_KEY must be a secret (sk_...) or restricted (rk_...) key" })
  }
  return yield* StripeClient.make({
    apiKey: settings.apiKey,
    host: Option.getOrUndefined(settings.host),
    port: Option.getOrUndefined(settings.port),
    protocol: Option.getOrUndefined(settings.protocol)
  })
})

/**
 * The webhook's event types: exactly those the flows handle.
 *
 * @since 0.2.0
 * @category constants
 */
export const webhookEvents: ReadonlyArray<string> = StripeEvent.handledTypes

const sameEvents = (events: ReadonlyArray<string>) =>
  events.length === webhookEvents.length && webhookEvents.every((e) => events.includes(e))

/**
 * The Stripe side: the meter, its metered price and the webhook endpoint.
 *
 * @since 0.2.0
 * @category flows
 */
export const checkStripe = (input: Input) =>
  Effect.gen(function*() {
    const { call } = yield* stripeClient
    const steps: Array<Step> = []
    const params: Record<string, string> = { MeterEventName: input.meterEventName }
    const next: Array<string> = []
    const key = (what: string) => ({ idempotencyKey: `ai-billing-init-${what}` })

    const meters = yield* call((s) =>
      s.billing.meters.list({ status: "active", limit: 100 }).autoPagingToArray({ limit: 10_000 })
    )
      .pipe(Effect.mapError(fail("cannot list Billing Meters")))
    const existing = meters.find((m) => m.event_name === input.meterEventName)
    let meterId = existing?.id
    if (existing !== undefined) {
      // The adapter sends {stripe_customer_id, value}: a meter reading other keys never bills anyone.
      const keys = [existing.customer_mapping.event_payload_key, existing.value_settings.event_payload_key]
      steps.push(
        keys[0] === "stripe_customer_id" && keys[1] === "value"
          ? step("stripe meter", "found", existing.id, `event_name ${input.meterEventName}`)
          : step(
            "stripe meter",
            "invalid",
            existing.id,
            `maps the customer from "${keys[0]}" and the value from "${
              keys[1]
            }"; the sync sends stripe_customer_id and value`
          )
      )
    } else if (input.create) {
      // The adapter reports {stripe_customer_id, value}: the meter maps and sums exactly those keys.
      const meter = yield* call((s) =>
        s.billing.meters.create({
          display_name: `${input.productName} (${input.meterEventName})`,
          event_name: input.meterEventName,
          default_aggregation: { formula: "sum" },
          customer_mapping: { type: "by_id", event_payload_key: "stripe_customer_id" },
          value_settings: { event_payload_key: "value" }
        }, key(`meter-${input.meterEventName}`))
      ).pipe(Effect.mapError(fail("cannot create the Billing Meter")))
      meterId = meter.id
      steps.push(step("stripe meter", "created", meter.id, `event_name ${input.meterEventName}, sum of value`))
    } else {
      steps.push(step("stripe meter", "missing", null, `no active meter has event_name ${input.meterEventName}`))
    }

    if (meterId === undefined) {
      steps.push(step("stripe price", "skipped", null, "needs the meter"))
    } else {
      const prices = yield* call((s) =>
        s.prices.list({ active: true, type: "recurring", limit: 100 }).autoPagingToArray({ limit: 10_000 })
      ).pipe(Effect.mapError(fail("cannot list prices")))
      const found = prices.find((p) => p.recurring?.meter === meterId && p.recurring.usage_type === "metered")
      if (found !== undefined) {
        params["MeteredPriceId"] = found.id
        steps.push(step("stripe price", "found", found.id, `metered on ${meterId}`))
      } else if (input.create) {
        const { default: StripeSdk } = yield* Effect.promise(() => import("stripe"))
        const price = yield* call((s) =>
          s.prices.create({
            currency: input.currency,
            unit_amount_decimal: StripeSdk.Decimal.from(input.unitAmount),
            recurring: { interval: "month", usage_type: "metered", meter: meterId! },
            product_data: { name: input.productName }
          }, key(`price-${meterId}`))
        ).pipe(Effect.mapError(fail("cannot create the metered price")))
        params["MeteredPriceId"] = price.id
        steps.push(
          step("stripe price", "created", price.id, `${input.unitAmount} ${input.currency} minor units a unit, monthly`)
        )
      } else {
        steps.push(step("stripe price", "missing", null, `no active metered price on ${meterId}`))
      }
    }

    if (Option.isNone(input.webhookUrl)) {
      steps.push(step("stripe webhook", "skipped", null, "no --webhook-url (the stack's WebhookUrl output)"))
      next.push("after sam deploy: ai-billing init --create --webhook-url <the stack's WebhookUrl output>")
      return { steps, params, next }
    }
    const url = input.webhookUrl.value
    const endpoints = yield* call((s) => s.webhookEndpoints.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 }))
      .pipe(Effect.mapError(fail("cannot list webhook endpoints")))
    const endpoint = endpoints.find((e) => e.url === url)
    const secretStep = (secret: string) =>
      `store the signing secret, then pass its ARN as --webhook-secret-arn: aws secretsmanager create-secret --name ${input.stackName}/stripe-webhook-secret --secret-string ${secret}`
    if (endpoint !== undefined && sameEvents(endpoint.enabled_events)) {
      steps.push(step("stripe webhook", "found", endpoint.id, `${url}, the ${webhookEvents.length} handled events`))
    } else if (endpoint !== undefined) {
      if (input.create) {
        yield* call((s) => s.webhookEndpoints.update(endpoint.id, { enabled_events: [...webhookEvents] as never }))
          .pipe(Effect.mapError(fail("cannot update the webhook endpoint")))
        steps.push(step("stripe webhook", "updated", endpoint.id, `events set to the ${webhookEvents.length} handled`))
      } else {
        steps.push(
          step(
            "stripe webhook",
            "invalid",
            endpoint.id,
            `listens to ${endpoint.enabled_events.join(",")}; --create fixes`
          )
        )
      }
    } else if (input.create) {
      const created = yield* call((s) =>
        s.webhookEndpoints.create({
          url,
          enabled_events: [...webhookEvents] as never,
          description: `augint-billing ${input.stackName}`
        }, key(`webhook-${url}`))
      ).pipe(Effect.mapError(fail("cannot create the webhook endpoint")))
      steps.push(step("stripe webhook", "created", created.id, `${url}, the ${webhookEvents.length} handled events`))
      // Stripe returns the signing secret on creation only.
      if (Option.isNone(input.webhookSecretArn)) {
        next.push(secretStep(created.secret ?? "<the endpoint's signing secret from the Dashboard>"))
      }
    } else {
      steps.push(step("stripe webhook", "missing", null, `no endpoint for ${url}`))
    }
    return { steps, params, next }
  }).pipe(Effect.scoped)

/**
 * The template's parameters without a default, in the order `sam deploy` asks for them.
 *
 * @since 0.2.0
 * @category constants
 */
export const requiredParameters = [
  "FreeUsagePlanId",
  "MeteredUsagePlanId",
  "MeterEventName",
  "MeteredPriceId",
  "StripeSecretArn",
  "StripeWebhookSecretArn"
] as const

/**
 * A samconfig.toml deploying `stackName` with `parameters`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const samconfig = (stackName: string, region: string | undefined, parameters: Record<string, string>) =>
  [
    "# Written by ai-billing init: sam build && sam deploy",
    "version = 0.1",
    "",
    "[default.deploy.parameters]",
    `stack_name = "${stackName}"`,
    ...(region === undefined ? [] : [`region = "${region}"`]),
    "resolve_s3 = true",
    `capabilities = "CAPABILITY_IAM"`,
    "confirm_changeset = true",
    `parameter_overrides = "${
      requiredParameters.filter((p) => parameters[p] !== undefined).map((p) => `${p}=${parameters[p]}`).join(" ")
    }"`,
    ""
  ].join("\n")

/**
 * Check both sides, then write samconfig.toml when every parameter is known.
 *
 * @since 0.2.0
 * @category flows
 */
export const init = (input: Input) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    // Each side pages through every meter, price, endpoint or usage plan of the account.
    const bar = yield* progress("init: Stripe and API Gateway checked", 2)
    bar.update(0)
    const [s, a] = yield* Effect.gen(function*() {
      const s = yield* checkStripe(input)
      bar.update(1)
      const a = yield* checkUsagePlans(input)
      bar.update(2)
      return [s, a] as const
    }).pipe(Effect.ensuring(Effect.sync(bar.finish)))
    const parameters: Record<string, string> = { ...s.params, ...a.params }
    if (Option.isSome(input.stripeSecretArn)) parameters["StripeSecretArn"] = input.stripeSecretArn.value
    if (Option.isSome(input.webhookSecretArn)) parameters["StripeWebhookSecretArn"] = input.webhookSecretArn.value
    const missing = requiredParameters.filter((p) => parameters[p] === undefined)
    const nextSteps = [...s.next]
    if (parameters["StripeSecretArn"] === undefined) {
      nextSteps.push(
        `store the Stripe key, then pass its ARN as --stripe-secret-arn: aws secretsmanager create-secret --name ${input.stackName}/stripe-secret-key --secret-string sk_...`
      )
    }
    if (a.steps.some((x) => x.status === "created") && Option.isNone(input.apiStage)) {
      nextSteps.push(
        "attach your API's stage to both usage plans: aws apigateway update-usage-plan --usage-plan-id <id> --patch-operations op=add,path=/apiStages,value=<apiId>:<stage>"
      )
    }
    let written: Report["samconfig"] = null
    if (Option.isSome(input.samconfig)) {
      const path = input.samconfig.value
      const region = yield* Config.option(Config.string("AWS_REGION")).pipe(Effect.orDie)
      const text = samconfig(input.stackName, Option.getOrUndefined(region), parameters)
      const current = yield* fs.readFileString(path).pipe(Effect.option)
      if (missing.length > 0) {
        written = { path, status: "not-written" }
      } else if (Option.isSome(current) && current.value === text) {
        written = { path, status: "unchanged" }
      } else if (Option.isSome(current) && !input.overwrite) {
        written = { path, status: "kept" }
        nextSteps.push(`${path} exists with other settings: rerun with --overwrite to replace it`)
      } else {
        yield* fs.writeFileString(path, text).pipe(Effect.mapError(fail(`cannot write ${path}`)))
        written = { path, status: "written" }
      }
    }
    nextSteps.push(
      missing.length === 0
        ? "sam build && sam deploy"
        : `sam deploy --guided --parameter-overrides ${
          Object.entries(parameters).map(([k, v]) => `${k}=${v}`).join(" ")
        } (still missing: ${missing.join(", ")})`
    )
    const report: Report = { steps: [...s.steps, ...a.steps], parameters, missing, samconfig: written, nextSteps }
    return report
  })

/**
 * The report as text.
 *
 * @since 0.2.0
 * @category utils
 */
export const format = (r: Report): string =>
  [
    ...r.steps.map((x) => `${x.status.padEnd(8)} ${x.name}${x.id === null ? "" : ` ${x.id}`}: ${x.detail}`),
    ...(r.samconfig === null ? [] : [`${r.samconfig.status.padEnd(8)} ${r.samconfig.path}`]),
    "next:",
    ...r.nextSteps.map((n) => `  ${n}`)
  ].join("\n")

/**
 * Exit non-zero when a given id or the webhook's events are wrong (nothing to create fixes them).
 *
 * @since 0.2.0
 * @category utils
 */
export const check = (r: Report) =>
  r.steps.some((x) => x.status === "invalid")
    ? Effect.fail(
      new CliError({ message: `init found ${r.steps.filter((x) => x.status === "invalid").length} invalid` })
    )
    : Effect.void
