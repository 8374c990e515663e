/**
 * The production `Stripe` port on the stripe SDK: metered subscriptions, Billing Meter events,
 * customers, events and webhook verification.
 *
 * @since 0.1.0
 */
import { BillingConfig, Ids, Stripe as Port } from "@augint-billing/core"
import { Clock, Duration, Effect, Either, Layer } from "effect"
import type StripeSdk from "stripe"
import * as Errors from "./internal/errors.js"
import * as Events from "./internal/events.js"
import * as Invoices from "./internal/invoices.js"
import * as KeyedLock from "./internal/keyedLock.js"
import * as MeterEvents from "./internal/meterEvents.js"
import * as MeterEventStream from "./internal/meterEventStream.js"
import * as Preview from "./internal/preview.js"
import { decodeId, idOf, isDuplicateIdentifier, listAll, memoizeSuccess } from "./internal/sdk.js"
import * as Webhook from "./internal/webhook.js"
import * as StripeClient from "./StripeClient.js"
import * as StripeConfig from "./StripeConfig.js"

/**
 * Where the metered price comes from: its id, or the product whose one active metered price it is.
 *
 * @since 0.1.0
 * @category models
 */
export type MeteredPrice = StripeConfig.MeteredPrice

/**
 * Everything the adapter needs besides `BillingConfig` (defined in `StripeConfig`).
 *
 * @since 0.1.0
 * @category models
 */
export type Options = StripeConfig.Options

/**
 * The webhook signature tolerance used when none is given: 300 seconds.
 *
 * @since 0.1.0
 * @category constants
 */
export const defaultWebhookTolerance: Duration.Duration = StripeConfig.defaultWebhookTolerance

/**
 * The `managed_by` metadata value on every subscription this library creates.
 *
 * @since 0.1.0
 * @category constants
 */
export const MANAGED_BY = "augint-billing"

/**
 * Subscription statuses that count as "has the metered subscription".
 *
 * @since 0.1.0
 * @category constants
 */
export const liveSubscriptionStatuses: ReadonlySet<string> = new Set(["active", "trialing", "past_due"])

/** @deprecated Moved to `StripeConfig.StripeConfigError`. @since 0.1.0 @category errors */
export const StripeConfigError = StripeConfig.StripeConfigError
/** @deprecated Moved to `StripeConfig.StripeConfigError`. @since 0.1.0 @category errors */
export type StripeConfigError = StripeConfig.StripeConfigError
/** @deprecated Moved to `StripeConfig.secretKeyConfig`. @since 0.1.0 @category config */
export const secretKeyConfig = StripeConfig.secretKeyConfig
/** @deprecated Moved to `StripeConfig.webhookSecretConfig`. @since 0.1.0 @category config */
export const webhookSecretConfig = StripeConfig.webhookSecretConfig
/** @deprecated Moved to `StripeConfig.settingsConfig`. @since 0.1.0 @category config */
export const settingsConfig = StripeConfig.settingsConfig
/** @deprecated Moved to `StripeConfig.SecretSources`. @since 0.1.0 @category models */
export type SecretSources<E> = StripeConfig.SecretSources<E>
/** @deprecated Moved to `StripeConfig.noWebhookSecret`. @since 0.1.0 @category constructors */
export const noWebhookSecret = StripeConfig.noWebhookSecret
/** @deprecated Moved to `StripeConfig.loadOptions`. @since 0.1.0 @category constructors */
export const loadOptions = StripeConfig.loadOptions

/**
 * Check a meter event against Stripe's rules before it is sent; `nowMillis` is the current time.
 *
 * @since 0.1.0
 * @category utils
 */
export const validateMeterEvent: (
  event: Port.MeterEvent,
  nowMillis: number
) => Either.Either<Port.MeterEvent, Port.StripeError> = MeterEvents.validate

// ---------------------------------------------------------------------------------------------
// the service

/**
 * The `Stripe` port over a `StripeClient`; the meter event name comes from `BillingConfig`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const make = (
  options: Pick<
    Options,
    | "webhookSecret"
    | "webhookSecretSource"
    | "meteredPrice"
    | "meterId"
    | "webhookTolerance"
    | "meterEventStreamMinBatch"
  >
): Effect.Effect<Port.StripeService, never, StripeClient.StripeClient | BillingConfig.BillingConfig> =>
  Effect.gen(function*() {
    const client = yield* StripeClient.StripeClient
    const settings = yield* BillingConfig.BillingConfig
    const meterEventName = settings.meterEventName
    const tolerance = Duration.decode(options.webhookTolerance ?? defaultWebhookTolerance)
    // One in-flight meter event per customer: Stripe allows one concurrent call per customer and meter.
    const customerLocks = yield* KeyedLock.make<Ids.CustomerId>()
    const meteredPrice = options.meteredPrice

    const priceId: Effect.Effect<string, Port.StripeError> = yield* memoizeSuccess(
      "priceId" in meteredPrice
        ? Effect.succeed(meteredPrice.priceId)
        : client.call((sdk) =>
          sdk.prices.list({ product: meteredPrice.productId, active: true, type: "recurring", limit: 100 })
        ).pipe(
          Effect.flatMap((page) => {
            const metered = page.data.filter((price) => price.recurring?.usage_type === "metered")
            const [only] = metered
            if (metered.length === 1 && only !== undefined) return Effect.succeed(only.id)
            return Effect.fail(Errors.invalid(
              metered.length === 0
                ? `product ${meteredPrice.productId} has no active metered price; set METERED_PRICE_ID or add one`
                : `product ${meteredPrice.productId} has ${metered.length} active metered prices (${
                  metered.map((p) => p.id).join(", ")
                }); set METERED_PRICE_ID to choose one`
            ))
          })
        )
    )

    const meterId: Effect.Effect<string, Port.StripeError> = yield* memoizeSuccess(
      options.meterId !== undefined
        ? Effect.succeed(options.meterId)
        : listAll((startingAfter) =>
          client.call((sdk) =>
            sdk.billing.meters.list({
              status: "active",
              limit: 100,
              ...(startingAfter === undefined ? {} : { starting_after: startingAfter })
            })
          )
        ).pipe(
          Effect.flatMap((meters) => {
            const meter = meters.find((m) => m.event_name === meterEventName)
            return meter === undefined
              ? Effect.fail(Errors.invalid(`no active Billing Meter has event_name "${meterEventName}"`))
              : Effect.succeed(meter.id)
          })
        )
    )

    // The customer's subscriptions to the metered price. Without `status`, Stripe lists every
    // subscription that is not canceled; one customer has a handful, so one page of 100 is all of them.
    const meteredSubscriptions = (customerId: Ids.CustomerId, price: string) =>
      client.call((sdk) => sdk.subscriptions.list({ customer: customerId, price, limit: 100 })).pipe(
        Effect.map((page) => page.data.filter((s) => s.items.data.some((item) => item.price.id === price)))
      )

    // Stripe charges the subscription's default_payment_method, else the customer's invoice default:
    // a card only attached pays nothing, so the promoting card becomes the invoice default when none is.
    const adoptInvoiceDefault = (customerId: Ids.CustomerId, paymentMethod: string) =>
      client.call((sdk) => sdk.customers.retrieve(customerId)).pipe(
        Effect.flatMap((customer) =>
          ("deleted" in customer && customer.deleted === true) ||
            idOf((customer as StripeSdk.Customer).invoice_settings?.default_payment_method) !== undefined
            ? Effect.void
            : client.call((sdk) =>
              sdk.customers.update(customerId, { invoice_settings: { default_payment_method: paymentMethod } })
            )
        ),
        Effect.asVoid
      )

    const ensureSubscription: Port.StripeService["ensureSubscription"] = (
      { customerId, defaultPaymentMethod, idempotencyKey }
    ) =>
      Effect.gen(function*() {
        const price = yield* priceId
        const existing = yield* meteredSubscriptions(customerId, price)
        const found = existing.find((s) => liveSubscriptionStatuses.has(s.status))
        let id: string
        if (found !== undefined) {
          id = found.id
          if (defaultPaymentMethod !== undefined && idOf(found.default_payment_method) !== defaultPaymentMethod) {
            yield* client.call((sdk) =>
              sdk.subscriptions.update(found.id, { default_payment_method: defaultPaymentMethod })
            )
          }
        } else {
          const notLive = existing.filter((s) => s.status !== "canceled").map((s) => s.id)
          const created = yield* client.call((sdk) =>
            sdk.subscriptions.create(
              {
                customer: customerId,
                items: [{ price }],
                metadata: { managed_by: MANAGED_BY },
                ...(defaultPaymentMethod === undefined ? {} : { default_payment_method: defaultPaymentMethod })
              },
              { idempotencyKey: Port.creationKey(idempotencyKey, notLive, defaultPaymentMethod) }
            )
          )
          id = created.id
        }
        if (defaultPaymentMethod !== undefined) yield* adoptInvoiceDefault(customerId, defaultPaymentMethod)
        return yield* decodeId(Ids.SubscriptionId, "subscription id")(id)
      }).pipe(Effect.withSpan("StripeAdapter.ensureSubscription", { attributes: { customerId } }))

    const openSubscriptions: Port.StripeService["openSubscriptions"] = (customerId) =>
      Effect.gen(function*() {
        const price = yield* priceId
        const existing = yield* meteredSubscriptions(customerId, price).pipe(
          // A deleted customer has nothing open: Stripe cancelled its subscriptions when it was deleted.
          Effect.catchIf(
            (error) => error.reason === "NotFound" && error.message.includes("No such customer"),
            () => Effect.succeed([])
          )
        )
        return yield* Effect.forEach(
          // Only subscriptions this library made: one the merchant made (Checkout, the dashboard) to the
          // same price is not ours to sweep.
          existing.filter((s) =>
            s.status !== "canceled" && s.status !== "incomplete_expired" && s.metadata?.["managed_by"] === MANAGED_BY
          ),
          (s) => decodeId(Ids.SubscriptionId, "subscription id")(s.id)
        )
      }).pipe(Effect.withSpan("StripeAdapter.openSubscriptions", { attributes: { customerId } }))

    const cancelSubscription: Port.StripeService["cancelSubscription"] = ({ invoiceNow, subscriptionId }) =>
      client.call((sdk) => sdk.subscriptions.cancel(subscriptionId, { invoice_now: invoiceNow, prorate: false })).pipe(
        Effect.asVoid,
        // Cancelling a cancelled subscription is refused; look before calling it a failure.
        Effect.catchIf(
          (error) => error.reason === "InvalidRequest" || error.reason === "NotFound",
          (error) =>
            client.call((sdk) => sdk.subscriptions.retrieve(subscriptionId)).pipe(
              Effect.flatMap((s) => s.status === "canceled" ? Effect.void : Effect.fail(error))
            )
        ),
        Effect.withSpan("StripeAdapter.cancelSubscription", { attributes: { subscriptionId } })
      )

    const reportUsage: Port.StripeService["reportUsage"] = (event) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const valid = yield* validateMeterEvent(event, now)
        return yield* client.call(
          (sdk) =>
            sdk.billing.meterEvents.create({
              event_name: meterEventName,
              payload: { stripe_customer_id: valid.customerId, value: String(valid.value) },
              identifier: valid.identifier,
              timestamp: valid.timestamp
            }),
          "meterEvent"
        ).pipe(
          Effect.as<Port.MeterEventResult>("Accepted"),
          Effect.catchIf(isDuplicateIdentifier, () => Effect.succeed<Port.MeterEventResult>("Duplicate")),
          customerLocks.withLock(valid.customerId)
        )
      }).pipe(
        Effect.withSpan("StripeAdapter.reportUsage", {
          attributes: { customerId: event.customerId, identifier: event.identifier, value: event.value }
        })
      )

    const reportUsageBatch = yield* MeterEventStream.make({
      client,
      meterEventName,
      minBatch: options.meterEventStreamMinBatch ?? StripeConfig.defaultMeterEventStreamMinBatch,
      reportUsage
    })

    const getCustomer: Port.StripeService["getCustomer"] = (customerId) =>
      Effect.gen(function*() {
        const customer = yield* client.call((sdk) => sdk.customers.retrieve(customerId))
        if ("deleted" in customer && customer.deleted === true) {
          return {
            id: customerId,
            deleted: true,
            hasPaymentMethod: false,
            paymentMethods: [],
            invoiceDefault: undefined,
            metadata: {}
          }
        }
        const active = customer as StripeSdk.Customer
        const invoiceDefault = idOf(active.invoice_settings?.default_payment_method) ?? idOf(active.default_source)
        // Newest first; a customer holds a handful of cards, so one page of 100 is all of them.
        const attached = yield* client.call((sdk) => sdk.customers.listPaymentMethods(customerId, { limit: 100 }))
        const paymentMethods = attached.data.map((pm) => pm.id)
        return {
          id: customerId,
          deleted: false,
          hasPaymentMethod: paymentMethods.length > 0 || invoiceDefault !== undefined,
          paymentMethods,
          invoiceDefault,
          metadata: { ...active.metadata }
        }
      }).pipe(Effect.withSpan("StripeAdapter.getCustomer", { attributes: { customerId } }))

    const meterEventSummaries: Port.StripeService["meterEventSummaries"] = ({ customerId, end, start }) =>
      Effect.gen(function*() {
        const meter = yield* meterId
        const summaries = yield* listAll((startingAfter) =>
          client.call((sdk) =>
            sdk.billing.meters.listEventSummaries(meter, {
              customer: customerId,
              start_time: start,
              end_time: end,
              value_grouping_window: "day",
              limit: 100,
              ...(startingAfter === undefined ? {} : { starting_after: startingAfter })
            })
          )
        )
        return summaries
          .map((s) => ({ start: s.start_time, end: s.end_time, value: s.aggregated_value }))
          .sort((a, b) => a.start - b.start)
      }).pipe(Effect.withSpan("StripeAdapter.meterEventSummaries", { attributes: { customerId, start, end } }))

    const listEvents = Events.listEvents(client)
    const retrieveEvent = Events.retrieveEvent(client)

    const verifyWebhook = yield* Webhook.verifier(
      client.sdk,
      options.webhookSecretSource ??
        (options.webhookSecret === undefined ? undefined : StripeClient.fixedKey(options.webhookSecret)),
      tolerance
    )

    return {
      livemode: client.livemode,
      ensureSubscription,
      openSubscriptions,
      cancelSubscription,
      ...Invoices.make(client),
      reportUsage,
      reportUsageBatch,
      getCustomer,
      meterEventSummaries,
      listEvents,
      retrieveEvent,
      verifyWebhook,
      previewInvoice: Preview.previewInvoice(client, priceId),
      createSetupSession: Preview.createSetupSession(client)
    } satisfies Port.StripeService
  })

/**
 * The `Stripe` port from explicit options, with its own scoped `StripeClient`.
 *
 * @since 0.1.0
 * @category layers
 */
export const layer = (options: Options): Layer.Layer<Port.Stripe, never, BillingConfig.BillingConfig> =>
  Layer.effect(Port.Stripe, make(options)).pipe(Layer.provide(StripeClient.layer(options)))

/**
 * The `Stripe` port from the environment, with secrets from `sources` where given.
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfigWith = <E = never>(
  sources: StripeConfig.SecretSources<E>
): Layer.Layer<Port.Stripe, StripeConfig.StripeConfigError | E, BillingConfig.BillingConfig> =>
  Layer.unwrapEffect(Effect.map(StripeConfig.loadOptions(sources), layer))

/**
 * The `Stripe` port from the environment (`STRIPE_SECRET_KEY`, optional `STRIPE_WEBHOOK_SECRET`, ...).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerConfig: Layer.Layer<Port.Stripe, StripeConfig.StripeConfigError, BillingConfig.BillingConfig> =
  layerConfigWith({})
