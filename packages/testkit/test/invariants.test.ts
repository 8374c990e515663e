/**
 * Property tests of DESIGN.md's invariants over random histories: usage over several days, cards
 * attached and removed, payments failing and recovering, webhooks duplicated, reordered and retried,
 * faults injected into every port (before and after the call took effect, as errors and as crashes),
 * overlapping sync runs and late API Gateway counts. After the history settles (faults cleared, every
 * pending delivery retried until it succeeds, the settle window closed, one more sync):
 *   1. units accepted by Stripe == units counted in the metered plan, per customer and UTC day;
 *   2. a key is in METERED exactly when the record says METERED, exactly when the customer has a live
 *      subscription and a payment method;
 *   3. rejected input (malformed events, unknown customers, bad signatures) changed nothing.
 *
 * FC_NUM_RUNS sets the number of histories (CI runs thousands), FC_SEED replays one (`npm test` derives
 * it from the commit; unset or "random" here, it is drawn from the clock). Counterexamples found once
 * are kept in `regressions` and replayed on every run.
 */
import { BillingConfig, FanOut, HandleEvent, type Ids, Link, Stripe, UsageSync } from "@augint-billing/core"
import { describe, it } from "@effect/vitest"
import { Cause, Clock, Duration, Effect, Exit, FastCheck as fc, Logger, LogLevel, TestClock, TestContext } from "effect"
import { Driver, Invariants, MemoryState, StripeEvents, StripeMemory } from "../src/index.js"
import { apiKeyId, customerId, FREE, heldSubscription, METERED, nowSeconds, settle, T0, testLayer } from "./support.js"

const CUSTOMERS = 3

type Command =
  | { readonly _tag: "Usage"; readonly c: number; readonly units: number }
  | { readonly _tag: "LateUsage"; readonly c: number; readonly units: number }
  | { readonly _tag: "Advance"; readonly minutes: number }
  | { readonly _tag: "AttachCard"; readonly c: number; readonly viaSetupIntent: boolean }
  | { readonly _tag: "Detach"; readonly c: number }
  | { readonly _tag: "FailRetrying"; readonly c: number }
  | { readonly _tag: "FailFinal"; readonly c: number }
  | { readonly _tag: "Paid"; readonly c: number }
  | { readonly _tag: "Deliver"; readonly pick: number; readonly keep: boolean }
  | { readonly _tag: "DeliverTwo"; readonly first: number; readonly second: number }
  | { readonly _tag: "Sync" }
  | { readonly _tag: "SyncConcurrent" }
  | { readonly _tag: "SyncWhileDelivering"; readonly pick: number }
  | {
    readonly _tag: "Fault"
    readonly method: MemoryState.Method
    readonly when: "before" | "after"
    readonly times: number
    readonly skip: number
    readonly die: boolean
  }
  | { readonly _tag: "Latency"; readonly method: MemoryState.Method; readonly millis: number }
  | { readonly _tag: "LatencyEverywhere"; readonly millis: ReadonlyArray<number> }
  | { readonly _tag: "Outage"; readonly hours: number }
  | { readonly _tag: "MerchantCancel"; readonly c: number }
  | { readonly _tag: "InvoiceCreated"; readonly c: number }
  | {
    readonly _tag: "Cut"
    readonly target: "webhook" | "sync"
    readonly pick: number
    readonly millis: number
    readonly slow: number
  }
  | { readonly _tag: "Garbage"; readonly kind: "malformed" | "unknownCustomer" | "badSignature"; readonly c: number }
  | { readonly _tag: "DeleteCustomer"; readonly c: number }
  | { readonly _tag: "RotateKey"; readonly calls: number }
  | { readonly _tag: "OtherInvoice"; readonly c: number; readonly kind: "retrying" | "final" | "oneOff" | "paid" }
  | { readonly _tag: "Link"; readonly c: number }
  | { readonly _tag: "FanOutSync"; readonly duplicate: boolean; readonly hold: boolean }

const faultable: ReadonlyArray<MemoryState.Method> = [
  "Stripe.ensureSubscription",
  "Stripe.cancelSubscription",
  "Stripe.reportUsage",
  "Stripe.getCustomer",
  "UsageSource.getUsagePage",
  "CustomerRepo.get",
  "CustomerRepo.update",
  "CustomerRepo.isProcessed",
  "CustomerRepo.markProcessed",
  "CustomerRepo.listSyncCandidates",
  "PlanAdmin.plansOf",
  "PlanAdmin.addKey",
  "PlanAdmin.removeKey"
]

const c = fc.integer({ min: 1, max: CUSTOMERS })
const command: fc.Arbitrary<Command> = fc.oneof(
  {
    arbitrary: fc.record({ _tag: fc.constant("Usage" as const), c, units: fc.integer({ min: 1, max: 500 }) }),
    weight: 6
  },
  {
    arbitrary: fc.record({ _tag: fc.constant("LateUsage" as const), c, units: fc.integer({ min: 1, max: 50 }) }),
    weight: 1
  },
  {
    arbitrary: fc.record({ _tag: fc.constant("Advance" as const), minutes: fc.integer({ min: 1, max: 300 }) }),
    weight: 3
  },
  { arbitrary: fc.record({ _tag: fc.constant("AttachCard" as const), c, viaSetupIntent: fc.boolean() }), weight: 3 },
  { arbitrary: fc.record({ _tag: fc.constant("Detach" as const), c }), weight: 1 },
  { arbitrary: fc.record({ _tag: fc.constant("FailRetrying" as const), c }), weight: 1 },
  { arbitrary: fc.record({ _tag: fc.constant("FailFinal" as const), c }), weight: 2 },
  { arbitrary: fc.record({ _tag: fc.constant("Paid" as const), c }), weight: 1 },
  {
    arbitrary: fc.record({ _tag: fc.constant("Deliver" as const), pick: fc.nat(20), keep: fc.boolean() }),
    weight: 6
  },
  {
    arbitrary: fc.record({ _tag: fc.constant("DeliverTwo" as const), first: fc.nat(20), second: fc.nat(20) }),
    weight: 3
  },
  { arbitrary: fc.constant({ _tag: "Sync" as const }), weight: 3 },
  { arbitrary: fc.constant({ _tag: "SyncConcurrent" as const }), weight: 1 },
  {
    arbitrary: fc.record({ _tag: fc.constant("SyncWhileDelivering" as const), pick: fc.nat(20) }),
    weight: 2
  },
  {
    arbitrary: fc.record({
      _tag: fc.constant("Fault" as const),
      // The writes and the meter event are where exactly-once is won or lost: hit them most.
      method: fc.oneof(
        { arbitrary: fc.constantFrom(...faultable), weight: 2 },
        { arbitrary: fc.constantFrom<MemoryState.Method>("Stripe.reportUsage", "CustomerRepo.update"), weight: 3 }
      ),
      when: fc.constantFrom("before" as const, "after" as const),
      times: fc.constantFrom(1, 8),
      skip: fc.integer({ min: 0, max: 2 }),
      die: fc.integer({ min: 0, max: 3 }).map((n) => n === 0)
    }),
    weight: 6
  },
  {
    // One slow port method (until the history settles) lets concurrent deliveries and syncs interleave
    // at its calls instead of only at yields.
    arbitrary: fc.record({
      _tag: fc.constant("Latency" as const),
      method: fc.constantFrom(...faultable),
      millis: fc.integer({ min: 1, max: 400 })
    }),
    weight: 2
  },
  {
    // The webhook endpoint is down for hours (a bad deploy, a region outage): Stripe holds every event
    // and retries later (for up to three days, docs.stripe.com/webhooks#retries) while the hourly sync
    // goes on; the events then arrive hours late, in any order.
    arbitrary: fc.record({ _tag: fc.constant("Outage" as const), hours: fc.integer({ min: 1, max: 8 }) }),
    weight: 1
  },
  {
    // Every port method slow at once, MemoryState.methods all of them (issue 9: latency on every port
    // call), so that flows overlap at each call and their stamps cross second boundaries mid-flow.
    arbitrary: fc.record({
      _tag: fc.constant("LatencyEverywhere" as const),
      millis: fc.array(fc.integer({ min: 0, max: 1_500 }), {
        minLength: MemoryState.methods.length,
        maxLength: MemoryState.methods.length
      })
    }),
    weight: 1
  },
  {
    arbitrary: fc.record({
      _tag: fc.constant("Garbage" as const),
      kind: fc.constantFrom("malformed" as const, "unknownCustomer" as const, "badSignature" as const),
      c
    }),
    weight: 1
  },
  // The Stripe secret key is rolled: calls answer 401 until the adapter reads the new one (issue 9, behaviour 4).
  {
    arbitrary: fc.record({ _tag: fc.constant("RotateKey" as const), calls: fc.integer({ min: 1, max: 6 }) }),
    weight: 1
  },
  // An invocation killed mid-flow: at the webhook's template timeout (25 s) or any moment before it (a
  // crashed container, for the sync too); every port call slowed, so the kill lands between calls or
  // inside one, before or after it took effect. Stripe gets no answer from a killed webhook and
  // delivers the event again.
  {
    arbitrary: fc.record({
      _tag: fc.constant("Cut" as const),
      target: fc.constantFrom("webhook" as const, "sync" as const),
      pick: fc.nat(20),
      millis: fc.oneof(
        { arbitrary: fc.integer({ min: 1, max: 3_000 }), weight: 3 },
        { arbitrary: fc.integer({ min: 3_000, max: 25_000 }), weight: 1 }
      ),
      // Every port call of the killed invocation takes this long, so the kill lands inside the flow.
      slow: fc.integer({ min: 20, max: 1_500 })
    }),
    weight: 4
  },
  // invoice.created for our live subscription at any moment, the flush's cue (issue 9). The model has
  // no billing periods: what is tested is the flush it starts, stamped before its period_end (now).
  { arbitrary: fc.record({ _tag: fc.constant("InvoiceCreated" as const), c }), weight: 1 },
  // The fanned-out sync (issue 10): a coordinator's plan, its work items delivered once or twice at once,
  // or held back (a visibility timeout) and delivered at the next run's turn, with counts read then.
  {
    arbitrary: fc.record({ _tag: fc.constant("FanOutSync" as const), duplicate: fc.boolean(), hold: fc.boolean() }),
    weight: 2
  },
  // An operator or a sign-up flow links a customer who started unlinked (`linkLater`), perhaps again.
  { arbitrary: fc.record({ _tag: fc.constant("Link" as const), c }), weight: 1 },
  // The merchant cancels our subscription in the Dashboard, with no final invoice (issue 9).
  { arbitrary: fc.record({ _tag: fc.constant("MerchantCancel" as const), c }), weight: 1 },
  // The merchant deletes a customer in Stripe (issue 9, history 4), usage unreported or not.
  { arbitrary: fc.record({ _tag: fc.constant("DeleteCustomer" as const), c }), weight: 1 },
  // The merchant's other products and one-off invoices fail and get paid beside ours (issue 9, behaviour 3).
  {
    arbitrary: fc.record({
      _tag: fc.constant("OtherInvoice" as const),
      c,
      kind: fc.constantFrom("retrying" as const, "final" as const, "oneOff" as const, "paid" as const)
    }),
    weight: 1
  }
)

const snapshot = (state: MemoryState.State) =>
  JSON.stringify({
    records: [...state.records.entries()],
    membership: [...state.membership.entries()].map(([k, v]) => [k, [...v]]),
    subscriptions: [...state.subscriptions.values()],
    meterEvents: state.meterEvents,
    processed: [...state.processed.entries()]
  })

const check = (condition: boolean, message: string) =>
  condition ? Effect.void : Effect.die(new Error(`invariant broken: ${message}`))

const history = (
  commands: ReadonlyArray<Command>,
  demotionPolicy: BillingConfig.DemotionPolicy = BillingConfig.DemotionPolicy.FinalAttempt(),
  start: number = T0,
  linkLater = false
) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(start)
    const driver = yield* Driver.Driver
    const stripe = yield* Stripe.Stripe
    const { state } = driver
    // With `linkLater`, the last customer starts as a Stripe customer and a key in the free plan, with
    // no record: its events are for an unknown customer until a `Link` command links it (issue 9).
    for (let n = 1; n <= CUSTOMERS; n++) {
      if (linkLater && n === CUSTOMERS) {
        yield* driver.createStripeCustomer(customerId(n))
        yield* driver.createApiKey(apiKeyId(n), FREE)
      } else {
        yield* driver.signUp({ customerId: customerId(n), apiKeyId: apiKeyId(n) })
      }
    }
    // Work items SQS has not delivered for good: held back, or answered with failures (redelivered).
    const undelivered: Array<FanOut.WorkItem> = []
    const workItem = (item: FanOut.WorkItem, duplicate: boolean) =>
      Effect.gen(function*() {
        const exit = yield* settle(
          duplicate
            ? Effect.map(Effect.all([FanOut.work(item), FanOut.work(item)], { concurrency: 2 }), ([a]) => a)
            : FanOut.work(item)
        )
        // ReportBatchItemFailures: an item with a failed customer, or a worker that died, comes again.
        if (Exit.isFailure(exit) || exit.value.customersFailed > 0) undelivered.push(item)
      })
    // A link the operator saw fail is run again, at the latest when the history settles; a refusal
    // (already linked) ends it.
    const linksToFinish = new Set<number>()
    const linkCustomer = (n: number) =>
      Effect.gen(function*() {
        const exit = yield* settle(Link.link({ customerId: customerId(n), apiKeyId: apiKeyId(n) }))
        const refused = Exit.isFailure(exit) && exit.cause._tag === "Fail" &&
          exit.cause.error._tag === "VersionConflict"
        if (Exit.isSuccess(exit) || refused) linksToFinish.delete(n)
        else linksToFinish.add(n)
      })
    const queue: Array<unknown> = []

    // Stripe-side changes happen one second apart, so events have distinct `created` times.
    const emit = (event: unknown) => Effect.andThen(Effect.sync(() => queue.push(event)), TestClock.adjust("1 second"))
    const liveSubscription = (n: number) =>
      [...state.subscriptions.values()].find((s) =>
        s.customerId === customerId(n) && s.other !== true && Invariants.LIVE_STATUSES.has(s.status)
      )

    // What Stripe does with the answer: a success or an acknowledged permanent failure ends the
    // deliveries of that event; a retry answer (or a crash) keeps it queued for redelivery.
    const delivered = (exit: Exit.Exit<unknown, HandleEvent.HandleEventError>) =>
      Effect.gen(function*() {
        if (Exit.isSuccess(exit)) return true
        if (exit.cause._tag !== "Fail") return false
        const answer = HandleEvent.classify(exit.cause.error)
        yield* check(answer !== "reject", "a valid event was rejected")
        return answer === "acknowledge"
      })
    const deliver = (index: number, keep: boolean) =>
      Effect.gen(function*() {
        const event = queue[index]
        const done = yield* delivered(yield* settle(HandleEvent.handleEvent(event)))
        if (done && !keep) queue.splice(queue.indexOf(event), 1)
        return done
      })
    // Two deliveries at once (Stripe sends setup_intent.succeeded and payment_method.attached together,
    // and redelivers while a slow first attempt still runs).
    const deliverTwo = (first: number, second: number) =>
      Effect.gen(function*() {
        const a = queue[first % queue.length]
        const b = queue[second % queue.length]
        const [ea, eb] = yield* settle(
          Effect.all([Effect.exit(HandleEvent.handleEvent(a)), Effect.exit(HandleEvent.handleEvent(b))], {
            concurrency: 2
          })
        ).pipe(Effect.flatMap((exit) => exit))
        for (const [event, exit] of [[a, ea], [b, eb]] as const) {
          if ((yield* delivered(exit)) && queue.includes(event)) queue.splice(queue.indexOf(event), 1)
        }
      })

    // Stripe sends customer.subscription.updated with every status change (past_due on a declined
    // renewal, unpaid when retries are exhausted, active when paid: docs.stripe.com/billing/subscriptions/overview).
    const statusChanged = (
      sub: { readonly id: Ids.SubscriptionId; readonly customerId: Ids.CustomerId; readonly status: string },
      was: string
    ) =>
      sub.status === was ? Effect.void : Effect.flatMap(nowSeconds, (created) =>
        emit(StripeEvents.subscriptionUpdated({
          customerId: sub.customerId,
          subscriptionId: sub.id,
          status: sub.status,
          created
        })))

    // Stripe sends customer.subscription.deleted for every cancellation, ours included.
    const announced = new Set<string>()
    const announceCancellations = Effect.sync(() => {
      for (const sub of state.subscriptions.values()) {
        if (sub.status !== "canceled" || announced.has(sub.id)) continue
        announced.add(sub.id)
        queue.push(StripeEvents.subscriptionDeleted({
          customerId: sub.customerId,
          subscriptionId: sub.id,
          created: Math.floor((sub.canceledAt ?? 0) / 1000)
        }))
      }
    })

    // Stripe keeps no payment methods or invoices going for a deleted customer: those commands skip it.
    const deleted = (n: number) => state.stripeCustomers.get(customerId(n))?.deleted === true
    for (const cmd of commands) {
      yield* announceCancellations
      const created = yield* nowSeconds
      if ("c" in cmd && cmd._tag !== "Usage" && cmd._tag !== "LateUsage" && cmd._tag !== "Garbage" && deleted(cmd.c)) {
        continue
      }
      switch (cmd._tag) {
        case "Usage":
          yield* driver.addUsage({ apiKeyId: apiKeyId(cmd.c), units: cmd.units })
          break
        case "LateUsage": {
          // API Gateway counting metered requests late: only inside the settle window of a demotion.
          const record = state.records.get(customerId(cmd.c))
          if (
            record !== undefined && record.plan === "FREE" && record.subscriptionId !== undefined &&
            record.settleUntil !== undefined &&
            record.settleUntil > created * 1000
          ) {
            yield* driver.addUsage({ apiKeyId: apiKeyId(cmd.c), units: cmd.units, usagePlanId: METERED })
          }
          break
        }
        case "Advance":
          yield* TestClock.adjust(`${cmd.minutes} minutes`)
          break
        case "AttachCard":
          yield* driver.setPaymentMethods(customerId(cmd.c), 1)
          yield* emit(
            cmd.viaSetupIntent
              ? StripeEvents.setupIntentSucceeded({ customerId: customerId(cmd.c), created })
              : StripeEvents.paymentMethodAttached({ customerId: customerId(cmd.c), created })
          )
          break
        case "Detach":
          yield* driver.setPaymentMethods(customerId(cmd.c), 0)
          yield* emit(StripeEvents.paymentMethodDetached({ customerId: customerId(cmd.c), created }))
          break
        case "FailRetrying": {
          const sub = liveSubscription(cmd.c)
          if (sub === undefined) break
          const was = sub.status
          sub.status = "past_due"
          // The renewal was declined: Smart Retries will try again (only with a card to decline).
          StripeMemory.renewalInvoice(state, sub.id, { nowSeconds: created, declined: true })
          yield* emit(StripeEvents.invoicePaymentFailed({
            customerId: customerId(cmd.c),
            subscriptionId: sub.id,
            created,
            nextPaymentAttempt: created + 3 * 86_400,
            attemptCount: 1
          }))
          yield* statusChanged(sub, was)
          break
        }
        case "FailFinal": {
          const sub = liveSubscription(cmd.c)
          if (sub === undefined) break
          const was = sub.status
          sub.status = "unpaid"
          // Retries exhausted: the invoice stays open with no next attempt.
          StripeMemory.renewalInvoice(state, sub.id, { nowSeconds: created, declined: true }).nextPaymentAttempt =
            undefined
          yield* emit(
            StripeEvents.invoicePaymentFailed({
              customerId: customerId(cmd.c),
              subscriptionId: sub.id,
              created
            })
          )
          yield* statusChanged(sub, was)
          break
        }
        case "Paid": {
          // A retried or manual payment: Stripe makes a past_due or unpaid subscription active again.
          const sub = [...state.subscriptions.values()].find((s) =>
            s.customerId === customerId(cmd.c) && s.other !== true && (s.status === "past_due" || s.status === "unpaid")
          )
          if (sub === undefined) break
          const was = sub.status
          sub.status = "active"
          for (const invoice of state.invoices.values()) {
            if (invoice.subscriptionId === sub.id && invoice.status === "open") {
              Object.assign(invoice, { status: "paid", autoAdvance: false, nextPaymentAttempt: undefined })
            }
          }
          yield* emit(
            StripeEvents.invoicePaid({
              customerId: customerId(cmd.c),
              subscriptionId: sub.id,
              created
            })
          )
          yield* statusChanged(sub, was)
          break
        }
        case "Deliver":
          if (queue.length > 0) yield* deliver(cmd.pick % queue.length, cmd.keep)
          break
        case "DeliverTwo":
          if (queue.length > 0) yield* deliverTwo(cmd.first, cmd.second)
          break
        case "Sync":
          yield* settle(UsageSync.syncUsage())
          break
        case "SyncConcurrent":
          yield* settle(Effect.all([UsageSync.syncUsage(), UsageSync.syncUsage()], { concurrency: 2 }))
          break
        case "SyncWhileDelivering": {
          // The hourly sync (closing a settle window, say) runs while a webhook is being handled.
          if (queue.length === 0) break
          const event = queue[cmd.pick % queue.length]
          const [, exit] = yield* settle(
            Effect.all([Effect.exit(UsageSync.syncUsage()), Effect.exit(HandleEvent.handleEvent(event))], {
              concurrency: 2
            })
          ).pipe(Effect.flatMap((exit) => exit))
          if ((yield* delivered(exit)) && queue.includes(event)) queue.splice(queue.indexOf(event), 1)
          break
        }
        case "FanOutSync": {
          const earlier = undelivered.splice(0)
          const planned = yield* settle(FanOut.plan())
          const items = Exit.isSuccess(planned) ? planned.value.items : []
          if (cmd.hold) undelivered.push(...items)
          for (const item of [...earlier, ...(cmd.hold ? [] : items)]) yield* workItem(item, cmd.duplicate)
          break
        }
        case "Link": {
          yield* linkCustomer(cmd.c)
          break
        }
        case "OtherInvoice": {
          // Another product's subscription (no managed_by metadata) or a one-off invoice (no parent):
          // none of its events may promote or demote the customer.
          const other = cmd.kind === "oneOff"
            ? null
            : StripeMemory.otherSubscription(state, customerId(cmd.c), created * 1000)
          const invoice = other === null
            ? StripeMemory.oneOffInvoice(state, customerId(cmd.c), { nowSeconds: created, declined: true })
            : StripeMemory.renewalInvoice(state, other, { nowSeconds: created, declined: cmd.kind !== "paid" })
          if (cmd.kind === "final") invoice.nextPaymentAttempt = undefined
          const about = { customerId: customerId(cmd.c), subscriptionId: other, managed: false, created }
          yield* emit(
            invoice.status === "paid"
              ? StripeEvents.invoicePaid(about)
              : StripeEvents.invoicePaymentFailed({
                ...about,
                nextPaymentAttempt: invoice.nextPaymentAttempt ?? null,
                attemptCount: invoice.attemptCount
              })
          )
          break
        }
        case "Cut": {
          if (cmd.target === "webhook" && queue.length === 0) break
          const latency = new Map(state.latency)
          for (const method of MemoryState.methods) {
            state.latency.set(method, Math.max(cmd.slow, latency.get(method) ?? 0))
          }
          if (cmd.target === "sync") {
            yield* settle(Effect.timeout(UsageSync.syncUsage(), `${cmd.millis} millis`))
          } else {
            const event = queue[cmd.pick % queue.length]
            const exit = yield* settle(Effect.timeout(HandleEvent.handleEvent(event), `${cmd.millis} millis`))
            const killed = Exit.isFailure(exit) && exit.cause._tag === "Fail" &&
              Cause.isTimeoutException(exit.cause.error)
            if (!killed && (yield* delivered(exit as Exit.Exit<unknown, HandleEvent.HandleEventError>))) {
              queue.splice(queue.indexOf(event), 1)
            }
          }
          state.latency.clear()
          for (const [method, millis] of latency) state.latency.set(method, millis)
          break
        }
        case "InvoiceCreated": {
          const sub = liveSubscription(cmd.c)
          // A renewal is drafted at the end of a period that began when the subscription did, a billing
          // interval earlier (docs.stripe.com/billing/subscriptions/billing-cycle): never in its first second.
          if (sub === undefined || created <= Math.floor(sub.createdAt / 1000)) break
          yield* emit(StripeEvents.invoiceCreated({
            customerId: customerId(cmd.c),
            subscriptionId: sub.id,
            created,
            periodEnd: created
          }))
          break
        }
        case "MerchantCancel": {
          // Stripe stops collecting the customer's open invoices and announces the cancellation
          // (`announceCancellations`); the usage not yet invoiced is on no invoice: the merchant's choice.
          const sub = liveSubscription(cmd.c) ??
            [...state.subscriptions.values()].find((s) =>
              s.customerId === customerId(cmd.c) && s.other !== true && s.status === "unpaid"
            )
          if (sub === undefined) break
          // At the clock's millisecond, not the command's whole second: a subscription created in this
          // second must not be cancelled before it began.
          StripeMemory.merchantCancel(state, sub.id, yield* Clock.currentTimeMillis)
          break
        }
        case "DeleteCustomer":
          // Stripe cancels the customer's subscriptions at once, with no invoice, and announces each
          // (docs.stripe.com/api/customers/delete); `announceCancellations` queues those.
          yield* driver.deleteStripeCustomer(customerId(cmd.c))
          yield* emit(StripeEvents.customerDeleted({ customerId: customerId(cmd.c), created }))
          break
        case "Latency":
          yield* driver.setLatency(cmd.method, `${cmd.millis} millis`)
          break
        case "Outage":
          for (let hour = 0; hour < cmd.hours; hour++) {
            yield* TestClock.adjust("1 hour")
            yield* settle(UsageSync.syncUsage())
            yield* announceCancellations
          }
          break
        case "LatencyEverywhere":
          for (const [i, method] of MemoryState.methods.entries()) {
            yield* driver.setLatency(method, `${cmd.millis[i]!} millis`)
          }
          break
        case "Fault":
          yield* driver.failNext(cmd.method, { when: cmd.when, times: cmd.times, skip: cmd.skip, die: cmd.die })
          break
        case "RotateKey": {
          // An expired key answers 401 (docs.stripe.com/keys) on every call until the new one is read:
          // the next calls of each Stripe method the flows make fail with Authentication, doing nothing.
          const error = new Stripe.StripeError({ reason: "Authentication", message: "Expired API Key provided" })
          for (const method of MemoryState.methods.filter((m) => m.startsWith("Stripe."))) {
            yield* driver.failNext(method, { times: cmd.calls, error })
          }
          break
        }
        case "Garbage": {
          const before = snapshot(state)
          if (cmd.kind === "badSignature") {
            const payload = JSON.stringify(
              StripeEvents.setupIntentSucceeded({ customerId: customerId(cmd.c), created })
            )
            const exit = yield* settle(stripe.verifyWebhook({ payload, signature: `t=${created},v1=00` }))
            yield* check(Exit.isFailure(exit), "a bad signature was accepted")
          } else {
            const event = cmd.kind === "unknownCustomer"
              ? StripeEvents.setupIntentSucceeded({ customerId: "cus_nobody" as Ids.CustomerId, created })
              : {
                ...StripeEvents.invoicePaid({
                  customerId: customerId(cmd.c),
                  subscriptionId: yield* heldSubscription(cmd.c),
                  created
                }),
                created: "yesterday"
              }
            const exit = yield* settle(HandleEvent.handleEvent(event))
            if (cmd.kind === "malformed") {
              yield* check(
                Exit.isFailure(exit) && exit.cause._tag === "Fail" &&
                  HandleEvent.classify(exit.cause.error) === "reject",
                "a malformed event was not rejected"
              )
            } else {
              // During an injected outage the answer may be "retry later"; never anything that changes state.
              yield* check(
                Exit.isSuccess(exit)
                  ? exit.value._tag === "UnknownCustomer"
                  : exit.cause._tag !== "Fail" || HandleEvent.classify(exit.cause.error) === "retry",
                "an unknown customer was not reported as such"
              )
            }
          }
          yield* check(snapshot(state) === before, `rejected input (${cmd.kind}) changed state`)
          break
        }
      }
    }

    // Settle: no more faults; Stripe retries every pending delivery until it succeeds.
    yield* driver.clearFaults
    yield* announceCancellations
    for (let attempts = 0; queue.length > 0; attempts++) {
      yield* check(attempts < 200, "pending deliveries never succeeded")
      // Stripe retries over hours, and the hourly sync runs meanwhile (finishing a settle close a
      // retried promotion waits for).
      if (attempts % 5 === 4) {
        yield* TestClock.adjust("1 hour")
        yield* settle(UsageSync.syncUsage())
      }
      yield* deliver(0, false)
      yield* announceCancellations
    }
    // SQS delivers what it still holds (a redrive after the faults stopped), before the last sync.
    for (const item of undelivered.splice(0)) yield* workItem(item, false)
    for (const n of [...linksToFinish].filter((n) => !deleted(n))) {
      yield* linkCustomer(n)
      yield* check(!linksToFinish.has(n), `linking customer ${n} again failed`)
    }
    yield* TestClock.adjust("2 hours")
    const final = yield* settle(UsageSync.syncUsage())
    yield* check(Exit.isSuccess(final), `the settling sync failed: ${Exit.isFailure(final) ? final.cause : ""}`)
    if (Exit.isSuccess(final)) yield* check(final.value.customersFailed === 0, "customers failed in the settling sync")

    const customers = Array.from(
      { length: CUSTOMERS },
      (_, i) => ({ customerId: customerId(i + 1), apiKeyId: apiKeyId(i + 1) })
    ).filter(({ customerId }) => state.records.has(customerId))
    for (let n = 1; n <= CUSTOMERS; n++) {
      const record = state.records.get(customerId(n))
      const got = yield* settle(stripe.getCustomer(customerId(n)))
      const card = Exit.isSuccess(got) ? Stripe.usablePaymentMethod(got.value) : undefined
      if (record === undefined) {
        // Never linked: nothing of ours may exist in Stripe for it.
        yield* check(
          !state.meterEvents.some((e) => e.customerId === customerId(n)) &&
            ![...state.subscriptions.values()].some((s) => s.customerId === customerId(n) && s.other !== true),
          `customer ${n} was never linked, yet has meter events or subscriptions`
        )
      } else {
        // "A customer who already has a usable card when linked is promoted at link time" (issue 9): a
        // record no event acted on, FREE with a card, is a link that forgot to promote.
        const untouched = record.plan === "FREE" && record.subscriptionId === undefined &&
          record.lastEventAt === undefined
        yield* check(!(untouched && card !== undefined), `customer ${n} has a card Stripe would charge, yet is FREE`)
      }
    }
    const broken = Invariants.violations(state, customers, METERED)
    yield* check(broken.length === 0, broken.join("; "))
  }).pipe(
    Effect.provide(testLayer({ lookbackDays: 14, demotionPolicy })),
    Effect.provide(TestContext.TestContext),
    Logger.withMinimumLogLevel(LogLevel.None)
  )

// Every demotion policy: demoting on the first failure, after a grace period, or on the final attempt.
const demotionPolicy: fc.Arbitrary<BillingConfig.DemotionPolicy> = fc.oneof(
  { arbitrary: fc.constant(BillingConfig.DemotionPolicy.FinalAttempt()), weight: 2 },
  { arbitrary: fc.constant(BillingConfig.DemotionPolicy.Immediately()), weight: 1 },
  {
    arbitrary: fc.integer({ min: 1, max: 48 }).map((hours) =>
      BillingConfig.DemotionPolicy.GracePeriod({ grace: Duration.hours(hours) })
    ),
    weight: 1
  }
)

// Where a history starts: T0, or minutes before a UTC midnight that ends a month, a year, a February
// (a leap one too): usage stamped around the day and period boundaries a renewal and a replacement cross.
const startAt: fc.Arbitrary<number> = fc.oneof(
  { arbitrary: fc.constant(T0), weight: 3 },
  {
    arbitrary: fc.constantFrom(
      "2026-07-14T23:55:00.000Z",
      "2026-12-31T23:40:00.000Z",
      "2027-02-28T23:45:00.000Z",
      "2028-02-29T23:50:00.000Z"
    ).map(Date.parse),
    weight: 2
  }
)

const numRuns = Number(process.env.FC_NUM_RUNS ?? (process.env.CI ? 1_500 : 200))
const seedSetting = process.env.FC_SEED
const seed = seedSetting === undefined || seedSetting === "random" ? Date.now() : Number(seedSetting)

// The edge of these properties: fast-check wants a Promise that rejects when the history broke.
const holds = async (self: Effect.Effect<void>): Promise<void> => {
  const exit = await Effect.runPromiseExit(self)
  if (Exit.isFailure(exit)) throw new Error(String(exit.cause))
}

// Counterexamples the property once found, replayed on every run so a fixed bug stays fixed.
const regressions: ReadonlyArray<{
  readonly found: string
  readonly commands: ReadonlyArray<Command>
  readonly policy?: BillingConfig.DemotionPolicy
  readonly start?: number
  readonly linkLater?: boolean
}> = [
  {
    // A promotion delivered together with a newer final payment failure: the promotion created a
    // subscription, lost to the demotion's write, and left that subscription live on a FREE customer.
    found: "CI seed 1795522147170, shrunk",
    commands: [
      { _tag: "AttachCard", c: 3, viaSetupIntent: false },
      { _tag: "Deliver", pick: 0, keep: true },
      { _tag: "AttachCard", c: 3, viaSetupIntent: false },
      { _tag: "FailFinal", c: 3 },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Fault", method: "Stripe.reportUsage", when: "before", times: 1, skip: 0, die: true },
      { _tag: "Fault", method: "Stripe.reportUsage", when: "before", times: 1, skip: 0, die: true },
      { _tag: "DeliverTwo", first: 9, second: 0 }
    ]
  },
  {
    // A card added after the subscription went unpaid: the promotion made a second subscription and
    // left the unpaid one open, so Stripe would invoice the meter on both.
    found: "local soak, seed 227521171, shrunk",
    commands: [
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "FailFinal", c: 1 },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "Sync" },
      { _tag: "Usage", c: 1, units: 1 },
      { _tag: "Usage", c: 1, units: 1 }
    ]
  },
  {
    // A promotion that crashed after Stripe made the subscription, redelivered after the card was
    // removed: it no longer promotes, and the subscription stayed open on a FREE customer.
    found: "local soak, seed 227601429, shrunk",
    commands: [
      { _tag: "Fault", method: "CustomerRepo.update", when: "before", times: 8, skip: 0, die: true },
      { _tag: "AttachCard", c: 3, viaSetupIntent: false },
      { _tag: "Garbage", kind: "malformed", c: 1 },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "Detach", c: 3 },
      { _tag: "FailFinal", c: 1 },
      { _tag: "Usage", c: 1, units: 1 }
    ]
  },
  {
    // The same, with the crash in the record read after Stripe made the subscription.
    found: "local soak, seed 227806582, shrunk",
    commands: [
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Fault", method: "CustomerRepo.get", when: "before", times: 1, skip: 1, die: true },
      { _tag: "Usage", c: 1, units: 1 },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Detach", c: 1 },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Fault", method: "Stripe.ensureSubscription", when: "before", times: 1, skip: 0, die: true }
    ]
  },
  {
    // A crashed promotion's subscription went unpaid; the redelivery's creation, under the same
    // idempotency key, got that unpaid subscription back from Stripe's replay and wrote it down.
    found: "local run, seed 1795527197415, shrunk",
    commands: [
      { _tag: "Fault", method: "CustomerRepo.update", when: "before", times: 8, skip: 1, die: true },
      { _tag: "AttachCard", c: 2, viaSetupIntent: false },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "Advance", minutes: 1 },
      { _tag: "Usage", c: 1, units: 1 },
      { _tag: "FailFinal", c: 2 },
      { _tag: "Deliver", pick: 1, keep: false },
      { _tag: "SyncConcurrent" }
    ]
  },
  {
    // A promotion refused while a crashed settle close left the record marked closing: only the next
    // hourly sync finishes the close, and Stripe's retries must outlast it.
    found: "local soak, seed 1795527167146, shrunk",
    commands: [
      { _tag: "Fault", method: "CustomerRepo.update", when: "after", times: 8, skip: 0, die: true },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Advance", minutes: 15 },
      { _tag: "Sync" },
      { _tag: "Fault", method: "Stripe.ensureSubscription", when: "before", times: 1, skip: 0, die: true },
      { _tag: "Sync" },
      { _tag: "SyncConcurrent" },
      { _tag: "Deliver", pick: 0, keep: false }
    ]
  },
  {
    // A subscription made by a crashed promotion, found open by a later promotion that holds another.
    found: "local soak, seed 1795527537727, shrunk",
    commands: [
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Fault", method: "CustomerRepo.update", when: "before", times: 8, skip: 1, die: true },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "FailFinal", c: 1 },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Usage", c: 1, units: 1 },
      { _tag: "Fault", method: "Stripe.ensureSubscription", when: "before", times: 1, skip: 0, die: true },
      { _tag: "Sync" },
      { _tag: "Advance", minutes: 1 }
    ],
    policy: BillingConfig.DemotionPolicy.GracePeriod({ grace: Duration.hours(1) })
  },
  {
    found: "local soak, seed 1795527424618, shrunk",
    commands: [
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Fault", method: "CustomerRepo.update", when: "before", times: 1, skip: 1, die: true },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "FailFinal", c: 1 },
      { _tag: "LateUsage", c: 1, units: 1 },
      { _tag: "Advance", minutes: 1 },
      { _tag: "DeliverTwo", first: 13, second: 0 },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "SyncWhileDelivering", pick: 0 }
    ]
  },
  {
    found: "local soak, seed 1795527286221, shrunk",
    commands: [
      { _tag: "Fault", method: "CustomerRepo.get", when: "before", times: 1, skip: 2, die: true },
      { _tag: "Fault", method: "CustomerRepo.isProcessed", when: "before", times: 1, skip: 0, die: true },
      { _tag: "Fault", method: "Stripe.ensureSubscription", when: "before", times: 1, skip: 0, die: true },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Advance", minutes: 15 },
      { _tag: "Sync" },
      { _tag: "Fault", method: "Stripe.ensureSubscription", when: "before", times: 1, skip: 0, die: true },
      { _tag: "Usage", c: 1, units: 1 }
    ],
    policy: BillingConfig.DemotionPolicy.GracePeriod({ grace: Duration.hours(1) })
  },
  {
    found: "local soak, seed 1795527748335, shrunk",
    commands: [
      { _tag: "Fault", method: "CustomerRepo.update", when: "after", times: 8, skip: 0, die: true },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "SyncWhileDelivering", pick: 0 },
      { _tag: "Advance", minutes: 15 },
      { _tag: "FailFinal", c: 1 },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Sync" }
    ]
  },
  {
    // Demoted at once on a failure; a late count in the window was reported after the subscription it
    // belongs to was already cancelled.
    found: "CI run at bc8b2d1, seed 197702353, shrunk",
    commands: [
      { _tag: "AttachCard", c: 2, viaSetupIntent: false },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Latency", method: "CustomerRepo.markProcessed", millis: 201 },
      { _tag: "FailRetrying", c: 2 },
      { _tag: "FailFinal", c: 2 },
      { _tag: "Fault", method: "Stripe.ensureSubscription", when: "before", times: 1, skip: 0, die: true },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "FailFinal", c: 1 },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "LateUsage", c: 2, units: 1 }
    ],
    policy: BillingConfig.DemotionPolicy.Immediately()
  },
  {
    // Demoted at once; the demotion's flush stamped the last unit in the second a card's promotion then
    // made the replacement subscription in, so the unit was on the old one's final invoice and the new one's.
    found: "local run at 64f91ff, seed 11, shrunk",
    commands: [
      { _tag: "AttachCard", c: 3, viaSetupIntent: false },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Usage", c: 3, units: 1 },
      { _tag: "FailFinal", c: 1 },
      { _tag: "Advance", minutes: 1 },
      { _tag: "FailFinal", c: 3 },
      { _tag: "AttachCard", c: 3, viaSetupIntent: false },
      { _tag: "Advance", minutes: 1 }
    ],
    policy: BillingConfig.DemotionPolicy.Immediately()
  },
  {
    // A card replaced an unpaid subscription; the replacement's renewal then failed with retries to come,
    // and the replaced one's deferred cancel stopped collection of it (Stripe stops collection of all
    // the customer's invoices on any cancel): written off on a promoted customer.
    found: "CI run at 64f91ff, seed 105878015, shrunk",
    commands: [
      { _tag: "AttachCard", c: 2, viaSetupIntent: false },
      { _tag: "SyncWhileDelivering", pick: 0 },
      { _tag: "AttachCard", c: 2, viaSetupIntent: false },
      { _tag: "FailFinal", c: 2 },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "FailRetrying", c: 2 },
      { _tag: "Fault", method: "Stripe.ensureSubscription", when: "before", times: 1, skip: 0, die: true },
      { _tag: "SyncConcurrent" }
    ],
    policy: BillingConfig.DemotionPolicy.GracePeriod({ grace: Duration.hours(1) })
  },
  {
    // The merchant's cancel was stamped at the command's whole second, before the subscription (created
    // in that second) began: the test model's error, not the library's; both the command and
    // `lostToMerchantCancel` (which took the cancelled subscription for the next one) are fixed.
    found: "CI run at 7eee2b0, seed 133096112, shrunk",
    commands: [
      { _tag: "Fault", method: "CustomerRepo.update", when: "before", times: 1, skip: 0, die: false },
      { _tag: "AttachCard", c: 2, viaSetupIntent: false },
      { _tag: "SyncWhileDelivering", pick: 0 },
      { _tag: "MerchantCancel", c: 2 },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "LateUsage", c: 2, units: 1 },
      { _tag: "Sync" },
      { _tag: "Usage", c: 1, units: 1 }
    ],
    policy: BillingConfig.DemotionPolicy.FinalAttempt()
  },
  {
    // The renewal's invoice.created came in the subscription's creation second (period end = period
    // start), so the flush stamped its unit in the second before the subscription began: on no invoice.
    // The test model's error (a period lasts a billing interval), fixed in the InvoiceCreated command.
    found: "CI run at da139d3, seed 228669907, shrunk",
    commands: [
      { _tag: "AttachCard", c: 3, viaSetupIntent: false },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "InvoiceCreated", c: 3 },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "MerchantCancel", c: 1 },
      { _tag: "Cut", target: "webhook", pick: 0, millis: 1, slow: 20 },
      { _tag: "Usage", c: 3, units: 1 },
      { _tag: "Latency", method: "Stripe.ensureSubscription", millis: 1 }
    ],
    policy: BillingConfig.DemotionPolicy.FinalAttempt(),
    start: Date.parse("2026-07-14T23:55:00.000Z")
  },
  {
    // A unit reported in the second the merchant then cancelled in, and the replacement the next sync made
    // began in that second: the invariants put the unit on the cancelled subscription (accepted before its
    // cancel) and on the replacement. Stripe makes no final invoice for a merchant's cancel, so the
    // replacement is the only invoice that bills it: `Invariants.invoicesOf` now counts none for it.
    found: "local run at 96b5035, seed 228669907, shrunk",
    commands: [
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "DeliverTwo", first: 0, second: 0 },
      { _tag: "Usage", c: 1, units: 1 },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Paid", c: 1 },
      { _tag: "Sync" },
      { _tag: "MerchantCancel", c: 1 },
      { _tag: "Sync" },
      { _tag: "Usage", c: 1, units: 1 }
    ],
    policy: BillingConfig.DemotionPolicy.Immediately(),
    start: Date.parse("2026-07-14T23:55:00.000Z")
  }
]

// Issue 9's histories, replayed under every run: each fails when its fix is taken out.
// Customer 1 promoted, 40 units used, then demoted on the final failure of its renewal.
const demotedAfter40Units: ReadonlyArray<Command> = [
  { _tag: "AttachCard", c: 1, viaSetupIntent: true },
  { _tag: "Deliver", pick: 0, keep: false },
  { _tag: "Usage", c: 1, units: 40 },
  { _tag: "FailFinal", c: 1 },
  { _tag: "Deliver", pick: 0, keep: false }
]
const issue9: typeof regressions = [
  {
    // Demoted on the final failure; the settle close's cancel stopped collection of the failed invoice
    // (docs.stripe.com/api/subscriptions/cancel); a card added later must collect it.
    found: "issue 9: a card after a demotion collects the invoice the cancel wrote off",
    commands: [
      ...demotedAfter40Units,
      { _tag: "Advance", minutes: 120 },
      { _tag: "Sync" },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Deliver", pick: 0, keep: false }
    ]
  },
  {
    // The demotion's key move fails past its retries (API Gateway throttling): the settle close must
    // not run while the key is still in the metered plan, or the usage it goes on making is never billed.
    found: "issue 9: a demotion whose key move failed is not closed while the key is still metered",
    commands: [
      { _tag: "AttachCard", c: 1, viaSetupIntent: true },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Usage", c: 1, units: 40 },
      { _tag: "FailFinal", c: 1 },
      { _tag: "Fault", method: "PlanAdmin.removeKey", when: "before", times: 8, skip: 0, die: false },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Usage", c: 1, units: 7 },
      { _tag: "Advance", minutes: 120 },
      { _tag: "Sync" },
      { _tag: "Usage", c: 1, units: 5 },
      { _tag: "Advance", minutes: 60 },
      { _tag: "Sync" }
    ]
  },
  {
    // A promotion replaces the unpaid subscription and crashes before its retire (here: at the retire's
    // usage read): the next sync reports the late 7 units, then cancels the old subscription with
    // `invoice_now`. Stamped after the new subscription began, they were on both invoices; now stamped
    // before it (`replacingSince`), they are on the old one's final invoice only.
    found: "issue 9: a promotion that crashed before cancelling the subscription it replaced bills nothing twice",
    commands: [
      ...demotedAfter40Units,
      { _tag: "LateUsage", c: 1, units: 7 },
      { _tag: "AttachCard", c: 1, viaSetupIntent: false },
      { _tag: "Fault", method: "UsageSource.getUsagePage", when: "before", times: 1, skip: 0, die: true },
      { _tag: "Deliver", pick: 0, keep: true },
      { _tag: "Sync" }
    ]
  },
  {
    // History 4: the merchant deletes a promoted customer whose usage is not reported yet. Stripe refuses
    // the report for good; it is written off as unbillable (only for a deleted customer), the pending
    // report clears, and the settle window the customer.deleted demotion opened still closes.
    found: "issue 9: a customer deleted in Stripe with unreported usage is written off, its settle window closed",
    commands: [
      { _tag: "AttachCard", c: 1, viaSetupIntent: true },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Usage", c: 1, units: 100 },
      { _tag: "DeleteCustomer", c: 1 },
      { _tag: "Sync" },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Advance", minutes: 180 },
      { _tag: "Sync" }
    ]
  },
  {
    // A card added before the link: its events find no record (acknowledged as an unknown customer), so
    // the link must promote. The first link dies after writing the record; running it again finishes it,
    // and only the usage made after the promotion is billed.
    found: "issue 9: a customer with a card before the link is promoted by the link, a cut-off link finished",
    linkLater: true,
    commands: [
      { _tag: "AttachCard", c: 3, viaSetupIntent: true },
      { _tag: "Deliver", pick: 0, keep: false },
      { _tag: "Usage", c: 3, units: 100 },
      { _tag: "Fault", method: "Stripe.getCustomer", when: "before", times: 1, skip: 0, die: true },
      { _tag: "Link", c: 3 },
      { _tag: "Usage", c: 3, units: 10 },
      { _tag: "Sync" },
      { _tag: "Link", c: 3 },
      { _tag: "Usage", c: 3, units: 25 },
      { _tag: "Advance", minutes: 60 },
      { _tag: "Sync" }
    ]
  }
]

describe("billing invariants over random histories", () => {
  it.each(issue9)(
    "hold for the history $found",
    ({ commands, linkLater, policy, start }) => holds(history(commands, policy, start, linkLater))
  )

  it.each(regressions)(
    "hold for the history $found",
    ({ commands, linkLater, policy, start }) => holds(history(commands, policy, start, linkLater))
  )

  it(`hold for ${numRuns} histories (seed ${seed})`, async () => {
    console.log(`invariants: ${numRuns} histories, seed ${seed} (replay with FC_SEED=${seed})`)
    await fc.assert(
      fc.asyncProperty(
        fc.array(command, { minLength: 5, maxLength: 40 }),
        demotionPolicy,
        startAt,
        fc.oneof({ arbitrary: fc.constant(false), weight: 2 }, { arbitrary: fc.constant(true), weight: 1 }),
        (commands, policy, start, linkLater) => holds(history(commands, policy, start, linkLater))
      ),
      { numRuns, seed, endOnFailure: false }
    )
  }, 1_800_000)
})

// A denser property for the sync alone: every round adds usage and runs a sync that crashes or fails
// at a random port call (before or after it took effect); then the faults stop and one more sync runs.
const syncFaults: ReadonlyArray<MemoryState.Method> = [
  "Stripe.reportUsage",
  "CustomerRepo.update",
  "CustomerRepo.get",
  "CustomerRepo.listSyncCandidates",
  "UsageSource.getUsagePage"
]
const round = fc.record({
  usage: fc.array(fc.record({ c, units: fc.integer({ min: 1, max: 100 }) }), { maxLength: 4 }),
  fault: fc.option(
    fc.record({
      method: fc.constantFrom(...syncFaults),
      when: fc.constantFrom("before" as const, "after" as const),
      skip: fc.integer({ min: 0, max: 6 }),
      times: fc.constantFrom(1, 8),
      die: fc.boolean()
    }),
    { nil: undefined }
  ),
  concurrent: fc.boolean(),
  minutes: fc.integer({ min: 0, max: 240 })
})

const syncHistory = (rounds: ReadonlyArray<typeof round extends fc.Arbitrary<infer A> ? A : never>) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(T0)
    const driver = yield* Driver.Driver
    for (let n = 1; n <= CUSTOMERS; n++) {
      const record = yield* driver.signUp({ customerId: customerId(n), apiKeyId: apiKeyId(n), paymentMethods: 1 })
      driver.state.records.set(record.customerId, { ...record, plan: "METERED" })
      driver.state.membership.set(record.apiKeyId, new Set([METERED]))
    }
    for (const r of rounds) {
      for (const u of r.usage) yield* driver.addUsage({ apiKeyId: apiKeyId(u.c), units: u.units })
      if (r.fault !== undefined) yield* driver.failNext(r.fault.method, r.fault)
      yield* settle(
        r.concurrent
          ? Effect.asVoid(Effect.all([UsageSync.syncUsage(), UsageSync.syncUsage()], { concurrency: 2 }))
          : Effect.asVoid(UsageSync.syncUsage())
      )
      yield* TestClock.adjust(`${r.minutes} minutes`)
    }
    yield* driver.clearFaults
    yield* settle(UsageSync.syncUsage())
    for (let n = 1; n <= CUSTOMERS; n++) {
      for (const day of driver.state.usage.get(METERED)?.get(apiKeyId(n))?.keys() ?? []) {
        const used = yield* driver.usage({ usagePlanId: METERED, apiKeyId: apiKeyId(n), day })
        const billed = yield* driver.billed({ customerId: customerId(n), day })
        yield* check(billed === used, `${customerId(n)} on ${day}: billed ${billed}, used ${used}`)
      }
    }
  }).pipe(
    Effect.provide(testLayer({ lookbackDays: 14 })),
    Effect.provide(TestContext.TestContext),
    Logger.withMinimumLogLevel(LogLevel.None)
  )

describe("exactly-once sync under a fault at every port call", () => {
  it(`holds for ${numRuns} histories (seed ${seed})`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(round, { minLength: 1, maxLength: 12 }), (rounds) => holds(syncHistory(rounds))),
      { numRuns, seed }
    )
  }, 1_800_000)
})
