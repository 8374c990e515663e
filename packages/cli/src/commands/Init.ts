/**
 * `init`: check, and with `--create` create, the Stripe meter, price and webhook endpoint and the two
 * usage plans, then write samconfig.toml. On a terminal it offers to create what is missing.
 *
 * @since 0.2.0
 */
import { Command, Options, Prompt } from "@effect/cli"
import { Config, Effect, Option } from "effect"
import * as Init from "../Init.js"
import { Output, print } from "../Output.js"
import { described, reported, UsageError, withOutput } from "../Shell.js"

const text = (name: string, description: string) =>
  Options.text(name).pipe(Options.optional, Options.withDescription(description))

/**
 * `init [--create] [--webhook-url ...] [--free-plan-id ...] [--metered-plan-id ...] ...`.
 *
 * @since 0.2.0
 * @category commands
 */
export const command = Command.make("init", {
  create: Options.boolean("create").pipe(Options.withDescription("Create what is missing (else only check)")),
  stackName: Options.text("stack-name").pipe(
    Options.withDefault("augint-billing"),
    Options.withDescription("The SAM stack; also names the usage plans <stack>-free and <stack>-metered")
  ),
  meterEventName: Options.text("meter-event-name").pipe(
    Options.withFallbackConfig(Config.string("METER_EVENT_NAME")),
    Options.withDefault("api_requests"),
    Options.withDescription("The Billing Meter's event_name (METER_EVENT_NAME)")
  ),
  currency: Options.text("currency").pipe(Options.withDefault("usd"), Options.withDescription("The price's currency")),
  unitAmount: Options.text("unit-amount").pipe(
    Options.withDefault("0.1"),
    Options.withDescription("The price of one request in the currency's minor unit (0.1: a tenth of a cent)")
  ),
  productName: Options.text("product-name").pipe(
    Options.withDefault("API requests"),
    Options.withDescription("The name of the product the price is created with")
  ),
  webhookUrl: text("webhook-url", "The webhook endpoint's URL (the stack's WebhookUrl output)"),
  freePlanId: text("free-plan-id", "An existing free usage plan to validate (else found or created by name)"),
  meteredPlanId: text("metered-plan-id", "An existing metered usage plan to validate (else found or created by name)"),
  freeQuota: Options.integer("free-quota").pipe(
    Options.withDefault(10_000),
    Options.withDescription("Requests a month the free plan created allows")
  ),
  apiStage: text("api-stage", "apiId:stage to attach to the usage plans created"),
  stripeSecretArn: text("stripe-secret-arn", "Secrets Manager ARN of the Stripe key"),
  webhookSecretArn: text("webhook-secret-arn", "Secrets Manager ARN of the webhook signing secret"),
  samconfig: Options.text("samconfig").pipe(
    Options.withDefault("samconfig.toml"),
    Options.withDescription("Where to write the sam deploy settings")
  ),
  printOnly: Options.boolean("print").pipe(Options.withDescription("Print the sam deploy parameters, write no file")),
  overwrite: Options.boolean("overwrite").pipe(Options.withDescription("Replace a samconfig.toml with other settings"))
}, ({ printOnly, samconfig, ...options }) =>
  withOutput(Effect.gen(function*() {
    if (!/^\d+(\.\d+)?$/.test(options.unitAmount)) {
      return yield* new UsageError({ message: `--unit-amount must be a decimal number, got ${options.unitAmount}` })
    }
    if (Option.isSome(options.apiStage) && !/^[^:]+:[^:]+$/.test(options.apiStage.value)) {
      return yield* new UsageError({ message: "--api-stage must be apiId:stage" })
    }
    const input: Init.Input = { ...options, samconfig: printOnly ? Option.none() : Option.some(samconfig) }
    let report = yield* Init.init(input)
    const { json } = yield* Output
    const missing = report.steps.filter((s) => s.status === "missing")
    // Interactive on a terminal: offer to create what is missing instead of asking for a rerun.
    if (!options.create && !json && missing.length > 0 && process.stdin.isTTY === true) {
      yield* Effect.sync(() => process.stderr.write(`${Init.format(report)}\n`))
      const yes = yield* Prompt.confirm({
        message: `Create ${missing.map((s) => s.name).join(", ")}?`,
        initial: false
      })
      if (yes) report = yield* Init.init({ ...input, create: true })
    }
    yield* print(Init.Report, report, Init.format)
    yield* Init.check(report)
  })).pipe(reported)).pipe(Command.withDescription(described(
    "Check (with --create, create) the Stripe meter, price, webhook and the usage plans, then write samconfig.toml.",
    "ai-billing init --create --webhook-url https://abc.execute-api.us-east-1.amazonaws.com/webhook"
  )))
