/**
 * Where an invocation runs: on AWS and Stripe (configured from the environment) or in local mode (all
 * four ports in memory over state kept in a directory). Local mode is chosen by `--local <dir>`, or by
 * default when no AWS or Stripe variable is set (said on stderr).
 *
 * @since 0.1.0
 */
import type { CustomerRepo, PlanAdmin, Stripe, UsageSource } from "@augint-billing/core"
import { BillingConfig } from "@augint-billing/core"
import { Memory, MemoryState } from "@augint-billing/testkit"
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { aws, stripe } from "./internal/adapters.js"
import * as LocalStore from "./LocalStore.js"

/** The services every command may use. @since 0.1.0 @category models */
export type Ports =
  | Stripe.Stripe
  | UsageSource.UsageSource
  | CustomerRepo.CustomerRepo
  | PlanAdmin.PlanAdmin
  | BillingConfig.BillingConfig

/** How the invocation runs. @since 0.1.0 @category models */
export type Mode =
  | { readonly _tag: "Aws" }
  | { readonly _tag: "Local"; readonly dir: string; readonly local: LocalStore.Local }

/** The mode of the running command. @since 0.1.0 @category services */
export class CliMode extends Context.Tag("@augint-billing/cli/CliMode")<CliMode, Mode>() {}

/** The variables whose presence means "a real account is configured". @since 0.1.0 @category constants */
export const accountVariables = [
  "AWS_REGION",
  "STACK_NAME",
  "TABLE_NAME",
  "STRIPE_SECRET_KEY",
  "STRIPE_SECRET_ARN"
] as const

/** The local store used when no account is configured and no `--local` is given. @since 0.1.0 @category constants */
export const defaultLocalDir: Config.Config<string> = Config.string("AI_BILLING_LOCAL_DIR").pipe(
  Config.withDefault(".ai-billing")
)

/**
 * The directory of local mode, or none for AWS mode; says on stderr when local mode is the default.
 *
 * @since 0.1.0
 * @category flows
 */
export const localDir = (flag: Option.Option<string>): Effect.Effect<Option.Option<string>> =>
  Effect.gen(function*() {
    if (Option.isSome(flag)) return flag
    const set = yield* Effect.orDie(
      Config.all(accountVariables.map((name) => Config.option(Config.string(name))))
    )
    if (set.some(Option.isSome)) return Option.none()
    const dir = yield* Effect.orDie(defaultLocalDir)
    yield* Effect.sync(() =>
      process.stderr.write(
        `ai-billing: no AWS or Stripe configuration (${accountVariables.join(", ")}): local mode in ${dir}\n`
      )
    )
    return Option.some(dir)
  })

// The CLI never verifies webhook signatures, so a missing webhook secret must not stop it;
// `infra status` reports whether one is configured.
const unusedWebhookSecret = Redacted.make("whsec_unused_by_the_cli")

/** A Stripe secret (`sk_`) or restricted (`rk_`) key, as the Lambda accepts it. @since 0.2.0 @category constants */
export const STRIPE_KEY = /^(sk|rk)_[A-Za-z0-9_]+$/

/**
 * The Stripe port from the environment, its key from Secrets Manager or `STRIPE_SECRET_KEY`.
 *
 * @since 0.1.0
 * @category layers
 */
export const stripeLayer = Layer.unwrapEffect(
  Effect.zipWith(aws, stripe, ({ Secrets }, { StripeAdapter }) =>
    Layer.unwrapEffect(
      Effect.map(Secrets.StripeSecrets, (secrets) =>
        StripeAdapter.layerConfigWith({
          // Checked as the Lambda checks it: a key from Secrets Manager skips the adapter's own check.
          secretKey: Effect.filterOrFail(
            secrets.stripeSecretKey,
            (key) => STRIPE_KEY.test(Redacted.value(key)),
            () =>
              new Secrets.SecretsError({
                reason: "Invalid",
                message: "STRIPE_SECRET_ARN or STRIPE_SECRET_KEY: must look like sk_test_..., sk_live_... or rk_..."
              })
          ),
          webhookSecret: secrets.webhookSecret.pipe(Effect.orElseSucceed(() => unusedWebhookSecret))
        }))
    ).pipe(Layer.provide(Secrets.layerConfig)))
)

/** The four ports on AWS and Stripe, configured from the environment. @since 0.1.0 @category layers */
export const awsLayer = (config: BillingConfig.BillingSettings) =>
  Layer.mergeAll(
    Layer.unwrapEffect(Effect.map(aws, ({ AwsAdapters }) => AwsAdapters.layerConfig)),
    stripeLayer,
    Layer.succeed(CliMode, { _tag: "Aws" })
  ).pipe(
    Layer.provideMerge(BillingConfig.layer(config))
  )

/** The four ports in memory over the local state. @since 0.1.0 @category layers */
export const localLayer = (dir: string, local: LocalStore.Local, config: BillingConfig.BillingSettings) =>
  Layer.mergeAll(
    Memory.layerWithoutState.pipe(Layer.provide(Layer.succeed(MemoryState.MemoryState, local.state))),
    Layer.succeed(CliMode, { _tag: "Local", dir, local }),
    BillingConfig.layer(config)
  )

/**
 * Run `program` with the ports of the mode; in local mode the state is loaded, locked and saved around it.
 *
 * @since 0.1.0
 * @category flows
 */
export const withPorts = <A, E, R>(
  flag: Option.Option<string>,
  options: { readonly persist: boolean },
  program: Effect.Effect<A, E, R>
) =>
  Effect.gen(function*() {
    const config = yield* BillingConfig.load
    const dir = yield* localDir(flag)
    if (Option.isSome(dir)) {
      return yield* LocalStore.run(
        dir.value,
        {
          persist: options.persist,
          usagePlans: [config.freePlanId, config.meteredPlanId, ...(config.cappedPlanId ? [config.cappedPlanId] : [])]
        },
        (local) => program.pipe(Effect.provide(localLayer(dir.value, local, config)))
      )
    }
    return yield* program.pipe(Effect.provide(awsLayer(config)))
  })
