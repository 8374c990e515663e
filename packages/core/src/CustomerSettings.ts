/**
 * Settings of the customer-facing side: the free plan's quota (what "free quota remaining" counts
 * against), where a card link sends the customer, and the default spend alert, read through `Config`.
 *
 * @since 0.2.0
 */
import { Config, ConfigError, Context, type Effect, Either, Layer } from "effect"
import { type BillingConfigError, loadWith } from "./BillingConfig.js"

/**
 * The free usage plan's quota as configured in API Gateway (`FREE_QUOTA_LIMIT`, `FREE_QUOTA_PERIOD`):
 * a UTC day or a UTC calendar month.
 *
 * @since 0.2.0
 * @category models
 */
export interface FreeQuota {
  readonly limit: number
  readonly period: "DAY" | "MONTH"
}

/**
 * An amount of money: `micros` millionths of the currency's major unit (a price of 0.002 USD a request
 * is 2,000 micros), so amounts compare and divide exactly.
 *
 * @since 0.4.0
 * @category models
 */
export interface Money {
  readonly micros: number
  /** Three-letter ISO code, lower case as Stripe writes it. */
  readonly currency: string
}

/**
 * Parse `<amount> <currency>` ("0.002 usd", "50 EUR"): a non-negative decimal with at most 6 places.
 *
 * @since 0.4.0
 * @category utils
 */
export const parseMoney = (text: string): Either.Either<Money, string> => {
  const match = /^(\d+)(?:\.(\d{1,6}))?\s+([A-Za-z]{3})$/.exec(text.trim())
  if (match === null) return Either.left(`must be an amount and a currency such as "0.002 usd", got "${text}"`)
  const micros = Number(match[1]) * 1_000_000 + Number((match[2] ?? "").padEnd(6, "0"))
  if (!Number.isSafeInteger(micros)) return Either.left(`amount too large: "${text}"`)
  return Either.right({ micros, currency: match[3]!.toLowerCase() })
}

/** `micros` as a decimal amount of the major unit (2,000 micros: 0.002). @since 0.4.0 @category utils */
export const majorUnits = (micros: number): number => micros / 1_000_000

/** Settings of the customer-facing flows. @since 0.2.0 @category models */
export interface Settings {
  /** The free plan's quota; undefined when the plan has none (`FREE_QUOTA_LIMIT=0`). */
  readonly freeQuota: FreeQuota | undefined
  /** Where Checkout sends the customer after adding a card (`CARD_LINK_SUCCESS_URL`); no card links without it. */
  readonly cardLinkSuccessUrl: string | undefined
  /** Where Checkout sends a customer who leaves (`CARD_LINK_CANCEL_URL`). */
  readonly cardLinkCancelUrl: string | undefined
  /** The currency of the card setup page (`CARD_LINK_CURRENCY`, Checkout requires one in setup mode). */
  readonly cardLinkCurrency: string
  /** Units per billing period a customer's alerts count against, unless its record sets its own (`SPEND_ALERT_UNITS`, 0 for none). */
  readonly alertUnits: number | undefined
  /** The percentages of the alert units that raise an alert, ascending (`SPEND_ALERT_PERCENTS`). */
  readonly alertPercents: ReadonlyArray<number>
  /**
   * The metered price per unit (`UNIT_PRICE`, "0.002 usd"): a flat per-unit price, as the metered
   * price is. Lets alerts say what the units cost and be set in money.
   */
  readonly unitPrice?: Money | undefined
  /**
   * The default alert limit in money (`SPEND_ALERT_AMOUNT`, "50 usd", in `unitPrice`'s currency): the
   * units it buys at `unitPrice` when `alertUnits` is not set.
   */
  readonly alertAmount?: Money | undefined
}

/** The customer-facing settings service. @since 0.2.0 @category services */
export class CustomerSettings
  extends Context.Tag("@augint-billing/core/CustomerSettings")<CustomerSettings, Settings>()
{}

/** The settings used when a variable is not set. @since 0.2.0 @category constants */
export const defaults: Settings = {
  freeQuota: { limit: 10_000, period: "MONTH" },
  cardLinkSuccessUrl: undefined,
  cardLinkCancelUrl: undefined,
  cardLinkCurrency: "usd",
  alertUnits: undefined,
  alertPercents: [50, 80, 100]
}

// Empty is unset: a deployment template passes every parameter, an unused one as "".
const url = (name: string) =>
  Config.option(
    Config.string(name).pipe(Config.validate({
      message: "must be an https:// (or http://localhost) URL",
      validation: (s) =>
        s === "" || /^https:\/\/\S+$/.test(s) || /^http:\/\/(localhost|127\.0\.0\.1)(:\d+)?(\/\S*)?$/.test(s)
    }))
  ).pipe(Config.map((o) => o._tag === "Some" && o.value !== "" ? o.value : undefined))

/**
 * Parse `SPEND_ALERT_PERCENTS` ("50,80,100"): whole percentages from 1 to 1000, sorted, without repeats.
 *
 * @since 0.2.0
 * @category utils
 */
export const parsePercents = (text: string): Either.Either<ReadonlyArray<number>, string> => {
  const parts = text.split(",").map((p) => p.trim()).filter((p) => p.length > 0)
  const numbers = parts.map(Number)
  if (parts.length === 0 || numbers.some((n) => !Number.isInteger(n) || n < 1 || n > 1000)) {
    return Either.left("must be whole percentages from 1 to 1000, comma-separated")
  }
  return Either.right([...new Set(numbers)].sort((a, b) => a - b))
}

const money = (name: string) =>
  Config.option(Config.string(name)).pipe(
    Config.mapOrFail((o) =>
      o._tag === "None" || o.value.trim() === ""
        ? Either.right(undefined)
        : Either.mapLeft(parseMoney(o.value), (message) => ConfigError.InvalidData([name], message))
    )
  )

/**
 * The default alert limit in units: `alertUnits`, else what `alertAmount` buys at `unitPrice`
 * (rounded down), else none.
 *
 * @since 0.4.0
 * @category utils
 */
export const defaultAlertUnits = (settings: Settings): number | undefined => {
  if (settings.alertUnits !== undefined) return settings.alertUnits
  const { alertAmount, unitPrice } = settings
  if (alertAmount === undefined || unitPrice === undefined || unitPrice.micros === 0) return undefined
  const units = Math.floor(alertAmount.micros / unitPrice.micros)
  return units > 0 ? units : undefined
}

/** The settings as a `Config`, each variable optional with the defaults above. @since 0.2.0 @category config */
export const config: Config.Config<Settings> = Config.all({
  quotaLimit: Config.integer("FREE_QUOTA_LIMIT").pipe(
    Config.validate({ message: "must be a whole number, 0 for no quota", validation: (n) => n >= 0 }),
    Config.withDefault(defaults.freeQuota!.limit)
  ),
  quotaPeriod: Config.literal("DAY", "MONTH")("FREE_QUOTA_PERIOD").pipe(Config.withDefault("MONTH" as const)),
  cardLinkSuccessUrl: url("CARD_LINK_SUCCESS_URL"),
  cardLinkCancelUrl: url("CARD_LINK_CANCEL_URL"),
  cardLinkCurrency: Config.string("CARD_LINK_CURRENCY").pipe(
    Config.validate({ message: "must be a three-letter ISO currency code", validation: (s) => /^[a-z]{3}$/.test(s) }),
    Config.withDefault(defaults.cardLinkCurrency)
  ),
  alertUnits: Config.option(
    Config.integer("SPEND_ALERT_UNITS").pipe(
      Config.validate({ message: "must be a whole number, 0 for no default limit", validation: (n) => n >= 0 })
    )
  ),
  alertPercents: Config.string("SPEND_ALERT_PERCENTS").pipe(
    Config.mapOrFail((text) =>
      Either.mapLeft(parsePercents(text), (message) => ConfigError.InvalidData(["SPEND_ALERT_PERCENTS"], message))
    ),
    Config.withDefault(defaults.alertPercents)
  ),
  unitPrice: money("UNIT_PRICE"),
  alertAmount: money("SPEND_ALERT_AMOUNT")
}).pipe(
  Config.mapOrFail(({ alertAmount, alertUnits, quotaLimit, quotaPeriod, unitPrice, ...rest }) => {
    if (alertAmount !== undefined && unitPrice === undefined) {
      return Either.left(
        ConfigError.InvalidData(["SPEND_ALERT_AMOUNT"], "needs UNIT_PRICE to turn the amount into units")
      )
    }
    if (alertAmount !== undefined && unitPrice !== undefined && alertAmount.currency !== unitPrice.currency) {
      return Either.left(ConfigError.InvalidData(
        ["SPEND_ALERT_AMOUNT"],
        `is in ${alertAmount.currency}, UNIT_PRICE in ${unitPrice.currency}: use one currency`
      ))
    }
    if (unitPrice !== undefined && unitPrice.micros === 0) {
      return Either.left(ConfigError.InvalidData(["UNIT_PRICE"], "must be more than 0"))
    }
    return Either.right({
      ...rest,
      freeQuota: quotaLimit === 0 ? undefined : { limit: quotaLimit, period: quotaPeriod },
      alertUnits: alertUnits._tag === "Some" && alertUnits.value > 0 ? alertUnits.value : undefined,
      ...(unitPrice === undefined ? {} : { unitPrice }),
      ...(alertAmount === undefined ? {} : { alertAmount })
    })
  })
)

/** Read `config`, failing with a `BillingConfigError` that names the variable. @since 0.2.0 @category flows */
export const load: Effect.Effect<Settings, BillingConfigError> = loadWith(config)

/** `CustomerSettings` from the environment. @since 0.2.0 @category layers */
export const layerConfig: Layer.Layer<CustomerSettings, BillingConfigError> = Layer.effect(CustomerSettings, load)

/** `CustomerSettings` from explicit values over the defaults. @since 0.2.0 @category layers */
export const layer = (settings: Partial<Settings> = {}): Layer.Layer<CustomerSettings> =>
  Layer.succeed(CustomerSettings, { ...defaults, ...settings })
