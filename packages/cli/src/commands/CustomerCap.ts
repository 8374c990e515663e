/**
 * `customers cap <id> <units>` and `customers cap <id> --clear`: a customer's hard spend cap per billing
 * period (UTC month). At the cap the key moves to the capped usage plan (`CAPPED_USAGE_PLAN_ID`); a cap
 * raised past the usage so far, or cleared, moves it back at once.
 *
 * @since 0.4.0
 */
import { BillingConfig, type Customer, SpendCap } from "@augint-billing/core"
import { Args, Command, Options } from "@effect/cli"
import { Clock, Effect, Option, Schema } from "effect"
import { print } from "../Output.js"
import { customerArg, described, UsageError, withEnv } from "../Shell.js"

/** What `customers cap` answers. @since 0.4.0 @category models */
export const CapStatus = Schema.Struct({
  customerId: Schema.String,
  /** The cap in force, units per UTC month; absent when the customer has none. */
  capUnits: Schema.optional(Schema.Int),
  /** Where it comes from: the customer's record, or `SPEND_CAP_UNITS`. */
  source: Schema.Literal("customer", "default", "none"),
  /** The UTC month, `YYYY-MM`. */
  period: Schema.String,
  /** Units reported this period. */
  unitsThisPeriod: Schema.Int,
  /** Whether the key is to be in the capped usage plan now. */
  capped: Schema.Boolean
})
/** What `customers cap` answers. @since 0.4.0 @category models */
export type CapStatus = typeof CapStatus.Type

/**
 * A record's cap status at `now`.
 *
 * @since 0.4.0
 * @category utils
 */
export const statusOf = (c: Customer.Customer, config: BillingConfig.BillingSettings, now: number): CapStatus => {
  const capUnits = SpendCap.capOf(c, config)
  return {
    customerId: c.customerId,
    ...(capUnits === undefined ? {} : { capUnits }),
    source: capUnits === undefined ? "none" : c.capUnits === undefined ? "default" : "customer",
    period: SpendCap.periodOf(now),
    unitsThisPeriod: SpendCap.periodUnits(c, now),
    capped: SpendCap.isCapped(c, now)
  }
}

/** A cap status as one line. @since 0.4.0 @category utils */
export const formatStatus = (s: CapStatus): string =>
  `${s.customerId}: ${
    s.capUnits === undefined ? "no cap" : `cap ${s.capUnits} units/month (${s.source})`
  }, ${s.unitsThisPeriod} used in ${s.period}${
    s.capped ? ", CAPPED: the key is in the capped usage plan until the period renews" : ""
  }`

/**
 * Parse the `<units>` argument and `--clear`: a positive whole number, or `--clear` alone.
 *
 * @since 0.4.0
 * @category utils
 */
export const parseCap = (
  units: Option.Option<string>,
  clear: boolean
): Effect.Effect<number | undefined, UsageError> => {
  if (clear) {
    return Option.isSome(units)
      ? new UsageError({ message: "give either <units> or --clear, not both" })
      : Effect.succeed(undefined)
  }
  if (Option.isNone(units)) {
    return new UsageError({ message: "give the cap in units (a positive whole number), or --clear" })
  }
  const n = /^\d+$/.test(units.value) ? Number(units.value) : Number.NaN
  return Number.isSafeInteger(n) && n > 0
    ? Effect.succeed(n)
    : new UsageError({ message: `the cap must be a positive whole number of units, got "${units.value}"` })
}

const cap = Command.make("cap", {
  customer: customerArg,
  units: Args.text({ name: "units" }).pipe(
    Args.withDescription("Units per billing period (UTC month) at which the key moves to the capped usage plan"),
    Args.optional
  ),
  clear: Options.boolean("clear").pipe(
    Options.withDescription("No cap for this customer, whatever SPEND_CAP_UNITS says (a capped key moves back now)")
  )
}, ({ clear, customer, units }) =>
  withEnv(
    { persist: true },
    Effect.gen(function*() {
      const parsed = yield* parseCap(units, clear)
      const record = yield* SpendCap.setCap(customer, parsed)
      const status = statusOf(record, yield* BillingConfig.BillingConfig, yield* Clock.currentTimeMillis)
      return yield* print(CapStatus, status, formatStatus)
    })
  )).pipe(Command.withDescription(described(
    "Set a customer's hard spend cap in units per billing period (UTC month), or --clear it. At the cap the hourly sync moves the key to the capped usage plan (CAPPED_USAGE_PLAN_ID, which rejects or throttles); it moves back when the month renews, or now when the cap is raised past the usage so far or cleared. Refused without CAPPED_USAGE_PLAN_ID.",
    "ai-billing customers cap cus_123 50000"
  )))

/**
 * The `customers cap` subcommand.
 *
 * @since 0.4.0
 * @category commands
 */
export const commands = [cap] as const
