/**
 * `env-dump`: the resolved configuration. Every variable the packages read, its value, secrets shown
 * as `<redacted>` (only whether they are set), and the resolved billing settings or why they fail.
 *
 * @since 0.1.0
 */
import { BillingConfig } from "@augint-billing/core"
import { Config, Duration, Effect, Either, Option, Schema } from "effect"
import { accountVariables } from "./Environment.js"
import * as Stack from "./Stack.js"

/** Variables whose values are secrets: only whether they are set is shown. @since 0.1.0 @category constants */
export const secretVariables = [
  "STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_SESSION_TOKEN"
] as const

/** Variables shown as they are. @since 0.1.0 @category constants */
export const plainVariables = [
  "STACK_NAME",
  "AWS_REGION",
  "AWS_DEFAULT_REGION",
  "AWS_PROFILE",
  "TABLE_NAME",
  "AWS_ENDPOINT_URL",
  "AWS_ENDPOINT_URL_DYNAMODB",
  "AWS_ENDPOINT_URL_API_GATEWAY",
  "AWS_ENDPOINT_URL_SECRETS_MANAGER",
  "STRIPE_SECRET_ARN",
  "STRIPE_WEBHOOK_SECRET_ARN",
  "SECRETS_CACHE_TTL",
  "FREE_USAGE_PLAN_ID",
  "METERED_USAGE_PLAN_ID",
  "METER_EVENT_NAME",
  "METERED_PRICE_ID",
  "API_USAGE_PRODUCT_ID",
  "STRIPE_METER_ID",
  "STRIPE_MODE",
  "STRIPE_REQUESTS_PER_SECOND",
  "STRIPE_METER_EVENTS_PER_SECOND",
  "STRIPE_API_HOST",
  "STRIPE_API_PORT",
  "STRIPE_API_PROTOCOL",
  "DEMOTION_POLICY",
  "DEMOTION_GRACE_PERIOD",
  "SETTLE_WINDOW",
  "SYNC_CONCURRENCY",
  "SYNC_LOOKBACK_DAYS",
  "AI_BILLING_LOCAL_DIR",
  "AI_BILLING_STACK"
] as const

/** What `env-dump` shows. @since 0.1.0 @category models */
export const Dump = Schema.Struct({
  mode: Schema.Literal("local", "aws"),
  localDir: Schema.NullOr(Schema.String),
  billing: Schema.Union(
    Schema.Struct({
      freePlanId: Schema.String,
      meteredPlanId: Schema.String,
      meterEventName: Schema.String,
      demotionPolicy: Schema.String,
      settleWindow: Schema.String,
      syncConcurrency: Schema.Int,
      lookbackDays: Schema.Int
    }),
    Schema.Struct({ error: Schema.String })
  ),
  variables: Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) }),
  /** The stack `--stack` named, whose outputs set the variables above. */
  stack: Schema.optionalWith(Schema.NullOr(Stack.Deployed), { default: () => null }),
  /** What AWS mode needs and is not set, each as `NAME (why)`; empty in local mode. */
  missing: Schema.Array(Schema.String)
})
/** What `env-dump` shows. @since 0.1.0 @category models */
export type Dump = typeof Dump.Type

/**
 * What AWS mode needs that `variables` lacks (none in local mode): the region, the table, the Stripe
 * key, the metered price, and some source of AWS credentials.
 *
 * @since 0.2.0
 * @category utils
 */
export const missing = (
  mode: "local" | "aws",
  variables: Readonly<Record<string, string | null>>
): ReadonlyArray<string> => {
  if (mode === "local") return []
  const set = (name: string) => (variables[name] ?? null) !== null
  const needs: Array<readonly [ReadonlyArray<string>, string]> = [
    [["AWS_REGION", "AWS_DEFAULT_REGION"], "the region"],
    [["TABLE_NAME"], "the customer table"],
    [["STRIPE_SECRET_KEY", "STRIPE_SECRET_ARN"], "the Stripe key (sk_test_..., sk_live_... or rk_...)"],
    [["METERED_PRICE_ID", "API_USAGE_PRODUCT_ID"], "the metered price"],
    [
      ["AWS_PROFILE", "AWS_ACCESS_KEY_ID"],
      "AWS credentials (the SDK may still find ~/.aws/credentials or a role)"
    ]
  ]
  return needs.filter(([names]) => !names.some(set)).map(([names, why]) => `${names.join(" or ")} (${why})`)
}

/** The redaction marker. @since 0.1.0 @category constants */
export const REDACTED = "<redacted>"

/** Read the configuration; `localDir` is the local store when local mode is in force. @since 0.1.0 @category flows */
export const dump = (localDir: Option.Option<string>) =>
  Effect.gen(function*() {
    const variables: Record<string, string | null> = {}
    for (const name of plainVariables) {
      variables[name] = Option.getOrNull(yield* Effect.orDie(Config.option(Config.string(name))))
    }
    for (const name of secretVariables) {
      const set = yield* Effect.orDie(Config.option(Config.redacted(name)))
      variables[name] = Option.isSome(set) ? REDACTED : null
    }
    const billing = yield* Effect.either(BillingConfig.load)
    const mode = Option.isSome(localDir) ? "local" as const : "aws" as const
    const stack = yield* Effect.serviceOption(Stack.CurrentStack)
    const result: Dump = {
      mode,
      localDir: Option.getOrNull(localDir),
      billing: Either.match(billing, {
        onLeft: (e) => ({ error: e.message }),
        onRight: (b) => ({
          freePlanId: b.freePlanId,
          meteredPlanId: b.meteredPlanId,
          meterEventName: b.meterEventName,
          demotionPolicy: b.demotionPolicy._tag === "GracePeriod"
            ? `GracePeriod(${Duration.format(b.demotionPolicy.grace)})`
            : b.demotionPolicy._tag,
          settleWindow: Duration.format(b.settleWindow),
          syncConcurrency: b.syncConcurrency,
          lookbackDays: b.lookbackDays
        })
      }),
      variables,
      stack: Option.getOrNull(stack),
      missing: missing(mode, variables)
    }
    return result
  })

/** The dump as text. @since 0.1.0 @category utils */
export const format = (d: Dump): string => {
  const lines = [`mode            ${d.mode}${d.localDir === null ? "" : ` (${d.localDir})`}`]
  if ("error" in d.billing) lines.push(`billing         ${d.billing.error}`)
  else {
    for (const [k, v] of Object.entries(d.billing)) lines.push(`${k.padEnd(16)}${String(v)}`)
  }
  lines.push("", "variables:")
  for (const [k, v] of Object.entries(d.variables)) lines.push(`  ${k.padEnd(34)}${v ?? "(not set)"}`)
  if (d.stack !== null) {
    lines.push("", `stack ${d.stack.name} (${d.stack.status}) outputs:`)
    for (const [k, v] of Object.entries(d.stack.outputs)) lines.push(`  ${k.padEnd(34)}${v}`)
  }
  if (d.missing.length > 0) lines.push("", "missing for AWS mode:", ...d.missing.map((m) => `  ${m}`))
  return lines.join("\n")
}

/** Whether any account variable is set (see `Environment.accountVariables`). @since 0.1.0 @category flows */
export const accountConfigured = Effect.map(
  Effect.orDie(Config.all(accountVariables.map((n) => Config.option(Config.string(n))))),
  (values) => values.some(Option.isSome)
)
