/**
 * Reading Stripe's events: the v1 list (snapshot events, for replay) and a v2 event in full (a thin
 * event notification carries its id and type only).
 */
import type { Stripe as Port } from "@augint-billing/core"
import { Effect, Stream } from "effect"
import type { StripeClientService } from "../StripeClient.js"
import { listAll } from "./sdk.js"

/** `listEvents`: `GET /v1/events?created[gte]=since`, every page, oldest first. */
export const listEvents = (client: StripeClientService): Port.StripeService["listEvents"] => ({ since }) =>
  // Stripe lists newest first and has no ascending order: read the window, then emit oldest first.
  Stream.unwrap(
    listAll((startingAfter) =>
      client.call((sdk) =>
        sdk.events.list({
          created: { gte: since },
          limit: 100,
          ...(startingAfter === undefined ? {} : { starting_after: startingAfter })
        })
      )
    ).pipe(Effect.map((events) => Stream.fromIterable<unknown>(events.reverse())))
  )

/** `retrieveEvent`: `GET /v2/core/events/:id`, the JSON as Stripe sent it. */
export const retrieveEvent = (client: StripeClientService): Port.StripeService["retrieveEvent"] => (eventId) =>
  client.call((sdk) => sdk.v2.core.events.retrieve(eventId)).pipe(
    Effect.map((event): unknown => event),
    Effect.withSpan("StripeAdapter.retrieveEvent", { attributes: { eventId } })
  )
