/**
 * `--stack <name>` (or `AI_BILLING_STACK`): the CLI pointed at a deployed stack. The stack's outputs
 * (CloudFormation `DescribeStacks`) become the configuration the Lambdas run with: the table, the
 * usage plans, the Stripe meter, price and secrets, the demotion policy. A missing stack or output
 * fails before any port is built, so nothing is read or changed.
 *
 * @since 0.3.0
 */
import { Config, ConfigProvider, Context, Effect, Either, Option, Schema } from "effect"
import { describeError } from "./internal/errors.js"
import { CliError, UsageError } from "./Shell.js"

/**
 * The outputs the CLI reads and the variable each one sets; `template.yaml` declares every one.
 *
 * @since 0.3.0
 * @category constants
 */
export const outputs = [
  { output: "CustomerTableName", variable: "TABLE_NAME" },
  { output: "FreeUsagePlanId", variable: "FREE_USAGE_PLAN_ID" },
  { output: "MeteredUsagePlanId", variable: "METERED_USAGE_PLAN_ID" },
  { output: "MeterEventName", variable: "METER_EVENT_NAME" },
  { output: "MeteredPriceId", variable: "METERED_PRICE_ID" },
  { output: "StripeSecretArn", variable: "STRIPE_SECRET_ARN" },
  { output: "StripeWebhookSecretArn", variable: "STRIPE_WEBHOOK_SECRET_ARN" },
  { output: "DemotionPolicy", variable: "DEMOTION_POLICY" }
] as const

/**
 * Outputs shown by `env-dump` but not configuration: where to look when something is wrong.
 *
 * @since 0.3.0
 * @category constants
 */
export const informational = [
  "WebhookUrl",
  "WebhookFunctionName",
  "ScheduleFunctionName",
  "AlarmTopicArn",
  "DashboardName"
] as const

/**
 * The stack the CLI was pointed at, as `DescribeStacks` answered.
 *
 * @since 0.3.0
 * @category models
 */
export const Deployed = Schema.Struct({
  name: Schema.String,
  status: Schema.String,
  outputs: Schema.Record({ key: Schema.String, value: Schema.String })
})
/**
 * The stack the CLI was pointed at.
 *
 * @since 0.3.0
 * @category models
 */
export type Deployed = typeof Deployed.Type

/**
 * The stack in force, when `--stack` or `AI_BILLING_STACK` named one.
 *
 * @since 0.3.0
 * @category services
 */
export class CurrentStack extends Context.Tag("@augint-billing/cli/CurrentStack")<CurrentStack, Deployed>() {}

/**
 * The environment variable naming the stack when `--stack` is not given.
 *
 * @since 0.3.0
 * @category constants
 */
export const STACK_VARIABLE = "AI_BILLING_STACK"

const endpoint = Config.option(Config.string("AWS_ENDPOINT_URL_CLOUDFORMATION")).pipe(
  Config.zipWith(Config.option(Config.string("AWS_ENDPOINT_URL")), (own, shared) => Option.orElse(own, () => shared))
)

/**
 * `DescribeStacks` of `name`: its status and outputs. A stack that does not exist is a `CliError`
 * naming it and the region (CloudFormation answers `ValidationError: Stack with id X does not exist`).
 *
 * @since 0.3.0
 * @category flows
 */
export const describe = (name: string) =>
  Effect.gen(function*() {
    const region = yield* Config.string("AWS_REGION").pipe(
      Effect.mapError(() =>
        new UsageError({ message: `--stack ${name}: set AWS_REGION (or AWS_DEFAULT_REGION) to the stack's region` })
      )
    )
    const url = yield* Effect.orDie(endpoint)
    const sdk = yield* Effect.promise(() => import("@aws-sdk/client-cloudformation"))
    const answer = yield* Effect.acquireUseRelease(
      Effect.sync(() =>
        new sdk.CloudFormationClient({ region, ...(Option.isSome(url) ? { endpoint: url.value } : {}) })
      ),
      (client) =>
        Effect.tryPromise({
          try: (signal) => client.send(new sdk.DescribeStacksCommand({ StackName: name }), { abortSignal: signal }),
          catch: (e) => e
        }).pipe(Effect.timeout("20 seconds")),
      (client) => Effect.sync(() => client.destroy())
    ).pipe(
      Effect.mapError((e) =>
        e instanceof Error && e.name === "ValidationError" && /does not exist/.test(e.message)
          ? new CliError({ message: `stack ${name} not found in ${region} (--stack or ${STACK_VARIABLE})` })
          : new CliError({ message: `cannot describe stack ${name} in ${region}: ${describeError(e)}` })
      )
    )
    const stack = answer.Stacks?.[0]
    if (stack === undefined) {
      return yield* new CliError({ message: `stack ${name} not found in ${region} (--stack or ${STACK_VARIABLE})` })
    }
    const found: Record<string, string> = {}
    for (const o of stack.Outputs ?? []) {
      if (o.OutputKey !== undefined && o.OutputValue !== undefined) found[o.OutputKey] = o.OutputValue
    }
    const deployed: Deployed = { name, status: stack.StackStatus ?? "UNKNOWN", outputs: found }
    return deployed
  })

/**
 * The variables a stack's outputs set (right), or the outputs it lacks (left).
 *
 * @since 0.3.0
 * @category utils
 */
export const variables = (stack: Deployed): Either.Either<Record<string, string>, ReadonlyArray<string>> => {
  const missing = outputs.filter((o) => stack.outputs[o.output] === undefined).map((o) => o.output)
  if (missing.length > 0) return Either.left(missing)
  return Either.right(Object.fromEntries([
    ["STACK_NAME", stack.name],
    ...outputs.map((o) => [o.variable, stack.outputs[o.output]!] as const)
  ]))
}

/**
 * Run `program` configured from the stack `name`: its outputs as configuration over the environment.
 * A variable also set in the environment to another value is refused (exit 2), so a stale
 * `TABLE_NAME` cannot point one command at two deployments.
 *
 * @since 0.3.0
 * @category flows
 */
export const withStack = <A, E, R>(name: string, program: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const stack = yield* describe(name)
    const found = variables(stack)
    if (Either.isLeft(found)) {
      return yield* new CliError({
        message: `stack ${name} (${stack.status}) has no output ${
          found.left.join(", ")
        }: deploy it from this version's template (sam build && sam deploy)`
      })
    }
    const vars = found.right
    for (const [variable, value] of Object.entries(vars)) {
      const current = yield* Effect.orDie(Config.option(Config.string(variable)))
      if (Option.isSome(current) && current.value !== value) {
        return yield* new UsageError({
          message:
            `${variable}=${current.value} is set, but stack ${name} says ${value}: unset ${variable} or drop --stack`
        })
      }
    }
    const base = yield* Effect.configProviderWith(Effect.succeed)
    return yield* program.pipe(
      Effect.provideService(CurrentStack, stack),
      Effect.withConfigProvider(
        ConfigProvider.orElse(ConfigProvider.fromMap(new Map(Object.entries(vars))), () => base)
      )
    )
  })
